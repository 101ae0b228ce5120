"""`python -m rehearsal`: the service's whole life on one machine (moto, HAProxy, real API
processes), with live traffic and a count of failed requests."""
