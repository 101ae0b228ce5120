"""The API's caching headers make a standards-following shared cache (Varnish with rfc9111.vcl)
keep the API's promises: a client reads and lists its own writes, revalidation reaches the origin
and gets a 304, writes and problems are never answered from the cache, and an answer to a caller
with a token is never handed to another caller when reads need a token."""

from __future__ import annotations

import secrets

from tests.auth_issuer import READ_SCOPE
from tests.edge_cache.edge import ORIGINS, request_id

CAR = {"model": "Corolla", "year": 2021, "price": "18950.00", "mileage_km": 42000}


def a_car() -> dict:
    return {"make": f"Edge{secrets.token_hex(4)}", **CAR}


def post(writer, car: dict) -> dict:
    created = writer.post("/v1/cars", json=car, headers=request_id("post"))
    assert created.status_code == 201, created.text
    return created


# --- read-your-writes -----------------------------------------------------------------------


def test_a_car_read_through_the_cache_after_a_change_is_the_changed_car(edge):
    with edge.writer() as writer, edge.client() as reader:
        location = post(writer, a_car()).headers["location"]
        before = reader.get(location, headers=request_id("read"))
        assert before.json()["color"] is None
        reader.get(location, headers=request_id("read"))  # stored, revalidated: still stored
        patched = writer.patch(location, json={"color": "blue"}, headers=request_id("patch"))
        after = reader.get(location, headers=request_id("read"))
    assert patched.status_code == 200
    assert after.status_code == 200
    assert after.json()["color"] == "blue"
    assert after.headers["etag"] == patched.headers["etag"] != before.headers["etag"]


def test_a_list_read_through_the_cache_after_writes_lists_them(edge):
    car = a_car()
    query = {"make": car["make"]}
    with edge.writer() as writer, edge.client() as reader:
        assert reader.get("/v1/cars", params=query).json()["items"] == []
        reader.get("/v1/cars", params=query)  # stored and revalidated
        location = post(writer, car).headers["location"]
        listed = reader.get("/v1/cars", params=query).json()["items"]
        assert writer.delete(location).status_code == 204
        after_delete = reader.get("/v1/cars", params=query).json()["items"]
    assert [item["make"] for item in listed] == [car["make"]]
    assert after_delete == []


def test_a_missing_car_is_not_remembered_once_it_exists(edge):
    # Without no-store on problems Varnish would keep this 404 for two minutes (default_ttl).
    with edge.writer() as writer, edge.client() as reader:
        next_id = post(writer, a_car()).json()["id"] + 1
        missing = reader.get(f"/v1/cars/{next_id}")
        created = post(writer, a_car())
        found = reader.get(f"/v1/cars/{next_id}")
    assert missing.status_code == 404
    assert missing.headers["cache-control"] == "no-store"
    assert created.json()["id"] == next_id
    assert found.status_code == 200


# --- revalidation ---------------------------------------------------------------------------


def test_a_stored_car_is_revalidated_at_the_origin_which_answers_304(edge):
    with edge.writer() as writer, edge.client() as reader:
        location = post(writer, a_car()).headers["location"]
        first_id, second_id = request_id("first"), request_id("second")
        first = reader.get(location, headers=first_id)
        before = edge.counters_after(lambda c: True)
        second = reader.get(location, headers=second_id)
        after = edge.counters_after(lambda c: c["fetch_304"] > before["fetch_304"])
    assert edge.origin_saw(first_id["X-Request-ID"]) == [200]
    # The client gets the whole car, from the cache's copy the origin just confirmed.
    assert edge.origin_saw(second_id["X-Request-ID"]) == [304]
    assert second.status_code == 200
    assert second.content == first.content
    assert after["fetch_304"] == before["fetch_304"] + 1
    assert after["cache_hit"] == before["cache_hit"]  # never reused without asking


def test_a_stored_list_page_is_revalidated_at_the_origin_which_answers_304(edge):
    query = {"make": a_car()["make"]}
    with edge.client() as reader:
        first = reader.get("/v1/cars", params=query)
        before = edge.counters_after(lambda c: True)
        second_id = request_id("page")
        second = reader.get("/v1/cars", params=query, headers=second_id)
        after = edge.counters_after(lambda c: c["fetch_304"] > before["fetch_304"])
    assert edge.origin_saw(second_id["X-Request-ID"]) == [304]
    assert second.status_code == 200
    assert second.content == first.content
    assert after["fetch_304"] == before["fetch_304"] + 1
    assert after["cache_hit"] == before["cache_hit"]


def test_if_none_match_through_the_cache_yields_304(edge):
    query = {"make": a_car()["make"]}
    with edge.writer() as writer, edge.client() as reader:
        location = post(writer, a_car()).headers["location"]
        car_etag = reader.get(location).headers["etag"]
        page_etag = reader.get("/v1/cars", params=query).headers["etag"]
        car = reader.get(location, headers={"If-None-Match": car_etag})
        page = reader.get("/v1/cars", params=query, headers={"If-None-Match": page_etag})
        writer.patch(location, json={"color": "green"})
        changed = reader.get(location, headers={"If-None-Match": car_etag})
    for not_modified, etag in ((car, car_etag), (page, page_etag)):
        assert not_modified.status_code == 304
        assert not_modified.headers["etag"] == etag
        assert not_modified.headers["cache-control"] == "public, no-cache"
    assert changed.status_code == 200
    assert changed.json()["color"] == "green"


def test_a_public_read_with_a_token_is_shared_and_revalidated(edge):
    # Reads are open: the answer says `public`, so (RFC 9111 3.5) a shared cache may reuse an
    # answer to a request with Authorization for another caller, after revalidating it.
    with edge.writer() as writer, edge.client() as anonymous:
        location = post(writer, a_car()).headers["location"]
        with_token = writer.get(location)
        before = edge.counters_after(lambda c: True)
        reused_id = request_id("anonymous")
        without = anonymous.get(location, headers=reused_id)
        after = edge.counters_after(lambda c: c["fetch_304"] > before["fetch_304"])
    assert with_token.headers["cache-control"] == "public, no-cache"
    assert edge.origin_saw(reused_id["X-Request-ID"]) == [304]
    assert without.content == with_token.content
    assert after["fetch_304"] == before["fetch_304"] + 1


# --- never from the cache -------------------------------------------------------------------


def test_writes_are_never_answered_from_the_cache(edge):
    car = a_car()
    with edge.writer() as writer:
        posts = [request_id("post"), request_id("post")]
        ids = [writer.post("/v1/cars", json=car, headers=h).json()["id"] for h in posts]
        location = f"/v1/cars/{ids[0]}"
        deletes = [request_id("delete"), request_id("delete")]
        statuses = [writer.delete(location, headers=h).status_code for h in deletes]
    assert ids[0] != ids[1]
    assert statuses == [204, 404]
    for headers, status in zip(posts + deletes, [201, 201, 204, 404], strict=True):
        assert edge.origin_saw(headers["X-Request-ID"]) == [status]


def test_operations_endpoints_always_reach_the_origin(edge):
    with edge.client() as client:
        for path in ("/health", "/ready", "/version"):
            sent = [request_id("ops"), request_id("ops")]
            answers = [client.get(path, headers=h) for h in sent]
            assert [a.headers["cache-control"] for a in answers] == ["no-store", "no-store"]
            assert [edge.origin_saw(h["X-Request-ID"]) for h in sent] == [[200], [200]]


# --- reads that need a token ----------------------------------------------------------------


def test_an_answer_to_a_caller_with_a_token_is_not_shared(token_edge):
    edge = token_edge
    reader_token = edge.issuer.token(scope=READ_SCOPE)
    with edge.writer() as writer, edge.client() as anonymous, edge.client(reader_token) as other:
        location = post(writer, a_car()).headers["location"]
        mine = writer.get(location)
        before = edge.counters_after(lambda c: True)
        anonymous_id, other_id = request_id("anonymous"), request_id("other")
        refused = anonymous.get(location, headers=anonymous_id)
        theirs = other.get(location, headers=other_id)
        after = edge.counters_after(lambda c: c["cache_miss"] >= before["cache_miss"] + 2)
    assert mine.status_code == 200
    # Each caller's request reached the origin whole: the token was checked, nothing was reused.
    assert refused.status_code == 401
    assert edge.origin_saw(anonymous_id["X-Request-ID"]) == [401]
    assert theirs.status_code == 200
    assert edge.origin_saw(other_id["X-Request-ID"]) == [200]
    assert after["fetch_304"] == before["fetch_304"]
    assert after["cache_hit"] == before["cache_hit"]
    assert mine.headers["cache-control"] == "private, no-cache"


def test_if_none_match_with_a_token_yields_304(token_edge):
    edge = token_edge
    with edge.writer() as writer:
        location = post(writer, a_car()).headers["location"]
        etag = writer.get(location).headers["etag"]
        conditional = request_id("conditional")
        not_modified = writer.get(location, headers={"If-None-Match": etag, **conditional})
    assert not_modified.status_code == 304
    assert not_modified.headers["etag"] == etag
    assert not_modified.headers["cache-control"] == "private, no-cache"
    # Varnish, holding nothing private, fetched the whole car (a miss drops the client's
    # condition) and answered the If-None-Match itself.
    assert edge.origin_saw(conditional["X-Request-ID"]) == [200]


def test_a_caller_with_a_token_reads_its_own_writes(token_edge):
    with token_edge.writer() as writer:
        location = post(writer, a_car()).headers["location"]
        writer.get(location)
        writer.patch(location, json={"mileage_km": 43000})
        after = writer.get(location)
    assert after.json()["mileage_km"] == 43000


# --- Vary -----------------------------------------------------------------------------------


def test_one_origins_cors_answer_is_never_served_to_another(cors_edge):
    a, b = ORIGINS
    with cors_edge.writer() as writer, cors_edge.client() as browser:
        location = post(writer, a_car()).headers["location"]
        answers = [
            browser.get(location, headers={"Origin": origin} if origin else {})
            for origin in (a, b, None, a)
        ]
    allowed = [answer.headers.get("access-control-allow-origin") for answer in answers]
    assert allowed == [a, b, None, a]
    assert all(answer.headers["vary"] == "Origin" for answer in answers)
