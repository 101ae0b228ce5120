"""`make bench`: the Cars API's requests/s and p99 against a bare Sanic baseline."""
