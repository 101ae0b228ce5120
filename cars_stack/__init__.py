"""``cars-stack``: deploy, release, roll back and tear down the api-cars stack via change sets."""
