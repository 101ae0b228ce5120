vcl 4.1;

# A shared cache that follows RFC 9111, for tests/edge_cache: Varnish's own builtin.vcl
# (`varnishd -x builtin`) wherever it already does what RFC 9111 says, and these departures
# from it where it does not, so that the API's headers alone decide what is cached:
#
# 1. builtin passes every request with Authorization (vcl_req_authorization). RFC 9111 3.5
#    lets a shared cache store such an answer when it says public, s-maxage or must-revalidate,
#    and forbids it otherwise: decided on the answer, below, not on the request.
# 2. builtin turns `no-cache` into "never store" (vcl_beresp_control: hit-for-miss). RFC 9111
#    5.2.2.4: store it, but validate before every reuse. Stored stale at once and kept, so the
#    next request sends a conditional GET (If-None-Match: the stored ETag) and a 304 refreshes
#    the stored copy. The TTL is 1 us, not 0: Varnish's lookup skips objects whose TTL is 0
#    (cache_hash.c), and only requests that arrived while that very answer was being fetched
#    (collapsed onto it) can still take it unvalidated: an answer newer than they are.
# 3. builtin serves stale answers for default_grace (10 s) while it refetches in the
#    background. RFC 9111 4.2.4 allows stale answers only when the answer says so
#    (stale-while-revalidate, RFC 5861), which Varnish reads into beresp.grace itself.
#
# Kept from builtin on purpose: the heuristic freshness of answers with no Cache-Control
# (default_ttl, 120 s, for 200, 404 ...: RFC 9111 4.2.2 allows a heuristic), private and no-store
# never stored, Vary honoured, only GET and HEAD looked up. Like builtin, and like CloudFront,
# a write passing through invalidates nothing (RFC 9111 4.4 asks a cache to invalidate the
# target URI of an unsafe request), so read-your-writes cannot lean on invalidation here.
#
# The backend's port is filled in by the tests (tests/edge_cache/varnish.py).

backend api {
    .host = "127.0.0.1";
    .port = "@API_PORT@";
}

sub vcl_recv {
    # builtin's vcl_recv without vcl_req_authorization (departure 1).
    call vcl_req_host;
    call vcl_req_method;
    call vcl_req_cookie;
    return (hash);
}

sub vcl_backend_response {
    if (bereq.uncacheable) {
        return (deliver);
    }
    # Departure 1: RFC 9111 3.5.
    if (bereq.http.Authorization &&
        beresp.http.Cache-Control !~ "(?i)(^|[,\s])(public|s-maxage|must-revalidate)([,\s=]|$)") {
        call vcl_beresp_hitmiss;
    }
    # Departure 3: no stale answers unless the origin allowed them.
    if (beresp.http.Cache-Control !~ "(?i)stale-while-revalidate") {
        set beresp.grace = 0s;
    }
    # Departure 2: no-cache (without private or no-store, which builtin handles) with a
    # validator: stored, validated before each reuse.
    if (beresp.http.Cache-Control ~ "(?i)(^|[,\s])no-cache([,\s=]|$)" &&
        beresp.http.Cache-Control !~ "(?i)(no-store|private)" &&
        (beresp.http.ETag || beresp.http.Last-Modified)) {
        set beresp.ttl = 0.001ms;
        set beresp.grace = 0s;
        set beresp.keep = 1h;
        return (deliver);
    }
    # Everything else as builtin decides (it runs after this subroutine).
}
