"""Who may write: bearer tokens from the test issuer on loopback (tests/auth_issuer.py).

Each case is one way a token can be wrong (or right); the answers are RFC 6750's, as
application/problem+json, and never say which check failed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import jwt
import pytest
import pytest_asyncio
from carkit import a_car, serve
from cryptography.hazmat.primitives import serialization

from api import auth, logs
from api.config import Settings
from tests.auth_issuer import AUDIENCE, READ_SCOPE, SUBJECT, WRITE_SCOPE, Issuer, rsa_key

PROBLEM = "application/problem+json"
MISSING = 'Bearer realm="api-cars"'
INVALID = 'Bearer realm="api-cars", error="invalid_token"'


class Clock:
    """The verifier's monotonic clock, moved by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def own_issuer() -> Iterator[Issuer]:
    """An issuer of the test's own: its fetch counts and keys are the test's alone."""
    server = Issuer().start()
    yield server
    if server._thread.is_alive():
        server.stop()


def auth_settings(issuer: Issuer, tmp_path: Path, **overrides) -> Settings:
    return Settings(sqlite_path=str(tmp_path / "auth.sqlite3"), **issuer.settings(**overrides))


@pytest_asyncio.fixture
async def anonymous(issuer: Issuer, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an API trusting the suite's issuer, sending no token unless told to."""
    async with serve(auth_settings(issuer, tmp_path), headers={}) as client:
        yield client


@pytest_asyncio.fixture
async def watched(own_issuer: Issuer, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """Like ``anonymous`` for the test's own issuer, the verifier on a clock the test moves."""
    async with serve(auth_settings(own_issuer, tmp_path), headers={}) as client:
        client.clock = client.app.ctx.auth.clock = Clock()
        yield client


async def post(client: httpx.AsyncClient, token: str | None) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return await client.post("/v1/cars", json=a_car(), headers=headers)


def assert_refused(response: httpx.Response, challenge: str = INVALID) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == challenge
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 401


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- the token's shape and signature -----------------------------------------------------------


async def test_a_write_without_a_token_is_401_with_a_bearer_challenge(anonymous):
    response = await post(anonymous, None)
    assert_refused(response, MISSING)
    assert "bearer token" in response.json()["detail"]


async def test_another_authorization_scheme_counts_as_no_token(anonymous):
    response = await anonymous.post(
        "/v1/cars", json=a_car(), headers={"Authorization": "Basic eA=="}
    )
    assert_refused(response, MISSING)


async def test_a_malformed_token_is_401_invalid_token(anonymous):
    assert_refused(await post(anonymous, "not.a-jwt"))


async def test_a_valid_token_may_write(anonymous, issuer):
    assert (await post(anonymous, issuer.token())).status_code == 201


async def test_an_ec_signed_token_may_write(anonymous, issuer):
    assert (await post(anonymous, issuer.token(kid="ec-1"))).status_code == 201


async def test_a_signature_by_another_key_under_a_known_kid_is_refused(anonymous, issuer):
    impostor = Issuer(keys={"rsa-1": rsa_key("rsa-1")})
    impostor.url = issuer.url
    response = await post(anonymous, impostor.token())
    assert_refused(response)
    assert response.json()["detail"] == (
        "The bearer token is not valid (expired, not for this API, or not signed by its issuer)."
    )


async def test_alg_none_is_refused(anonymous, issuer):
    claims = jwt.decode(issuer.token(), options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "rsa-1"})
    assert_refused(await post(anonymous, unsigned))


async def test_hs256_signed_with_the_issuers_public_key_is_refused(anonymous, issuer):
    # The classic confusion attack: the public key, which anyone can fetch, as an HMAC secret.
    public_pem = (
        issuer.keys["rsa-1"]
        .private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    claims = jwt.decode(issuer.token(), options={"verify_signature": False})
    signing_input = (
        _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
        + "."
        + _b64(json.dumps(claims).encode())
    )
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert_refused(await post(anonymous, f"{signing_input}.{_b64(signature)}"))


async def test_an_rsa_token_claiming_an_ec_kid_is_refused(anonymous, issuer):
    token = issuer.token(kid="rsa-1", headers={"kid": "ec-1"})
    assert_refused(await post(anonymous, token))


# --- the claims ----------------------------------------------------------------------------------


async def test_an_expired_token_is_refused(anonymous, issuer):
    now = int(time.time())
    token = issuer.token(exp=now - auth.LEEWAY_SECONDS - 60, iat=now - 3600, nbf=now - 3600)
    assert_refused(await post(anonymous, token))


async def test_a_token_expired_within_the_leeway_is_accepted(anonymous, issuer):
    token = issuer.token(exp=int(time.time()) - auth.LEEWAY_SECONDS // 3)
    assert (await post(anonymous, token)).status_code == 201


async def test_a_token_not_yet_valid_is_refused(anonymous, issuer):
    token = issuer.token(nbf=int(time.time()) + auth.LEEWAY_SECONDS + 60)
    assert_refused(await post(anonymous, token))


async def test_a_token_from_another_issuer_is_refused(anonymous, issuer):
    assert_refused(await post(anonymous, issuer.token(iss="https://issuer.example.com")))


async def test_a_token_for_another_audience_is_refused(anonymous, issuer):
    assert_refused(await post(anonymous, issuer.token(aud="another-api")))


async def test_a_token_without_aud_or_client_id_is_refused(anonymous, issuer):
    assert_refused(await post(anonymous, issuer.token(aud=None)))


async def test_a_cognito_access_token_names_the_audience_in_client_id(anonymous, issuer):
    token = issuer.token(aud=None, client_id=AUDIENCE, token_use="access")
    assert (await post(anonymous, token)).status_code == 201


async def test_a_cognito_access_token_for_another_client_is_refused(anonymous, issuer):
    token = issuer.token(aud=None, client_id="another-client", token_use="access")
    assert_refused(await post(anonymous, token))


async def test_an_id_token_is_refused(anonymous, issuer):
    token = issuer.token(aud=AUDIENCE, token_use="id")
    assert_refused(await post(anonymous, token))


async def test_a_token_without_the_write_scope_is_403_insufficient_scope(anonymous, issuer):
    response = await post(anonymous, issuer.token(scope=READ_SCOPE))
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        f'Bearer realm="api-cars", error="insufficient_scope", scope="{WRITE_SCOPE}"'
    )
    assert response.headers["content-type"] == PROBLEM


async def test_scp_as_a_list_carries_scopes_too(anonymous, issuer):
    token = issuer.token(scope=None, scp=[READ_SCOPE, WRITE_SCOPE])
    assert (await post(anonymous, token)).status_code == 201


async def test_a_cognito_scope_with_its_resource_server_prefix_is_compared_whole(issuer, tmp_path):
    settings = auth_settings(issuer, tmp_path, auth_write_scope="api-cars/cars:write")
    async with serve(settings, headers={}) as client:
        assert (await post(client, issuer.token(scope="api-cars/cars:write"))).status_code == 201
        assert (await post(client, issuer.token(scope="cars:write"))).status_code == 403


async def test_every_write_method_needs_a_token(anonymous, issuer):
    created = await post(anonymous, issuer.token())
    path = created.headers["location"]
    car = a_car()
    for response in (
        await anonymous.put(path, json=car),
        await anonymous.patch(path, json={"color": "blue"}),
        await anonymous.delete(path),
    ):
        assert_refused(response, MISSING)
    assert (await anonymous.get(path)).json()["make"] == created.json()["make"]


# --- reads ---------------------------------------------------------------------------------------


async def test_reads_are_public_when_no_read_scope_is_set(anonymous, issuer):
    path = (await post(anonymous, issuer.token())).headers["location"]
    assert (await anonymous.get(path)).status_code == 200
    assert (await anonymous.get("/v1/cars")).status_code == 200


async def test_reads_need_the_read_scope_when_it_is_set(issuer, tmp_path):
    settings = auth_settings(issuer, tmp_path, auth_read_scope=READ_SCOPE)
    async with serve(settings, headers={}) as client:
        assert_refused(await client.get("/v1/cars"), MISSING)
        head = await client.head("/v1/cars")
        assert (head.status_code, head.headers["www-authenticate"]) == (401, MISSING)
        only_write = {"Authorization": f"Bearer {issuer.token(scope=WRITE_SCOPE)}"}
        assert (await client.get("/v1/cars", headers=only_write)).status_code == 403
        readers = {"Authorization": f"Bearer {issuer.token(scope=READ_SCOPE)}"}
        assert (await client.get("/v1/cars", headers=readers)).status_code == 200
        for public in ("/health", "/ready", "/version", "/docs/openapi.json"):
            assert (await client.get(public)).status_code == 200, public


# --- keys: cached, rotated, rate-limited, the issuer down ---------------------------------------


async def test_keys_are_fetched_once_not_per_request(watched, own_issuer):
    for _ in range(5):
        assert (await post(watched, own_issuer.token())).status_code == 201
    assert (own_issuer.discovery_fetches, own_issuer.jwks_fetches) == (1, 1)


async def test_a_rotated_key_is_accepted_without_a_restart(watched, own_issuer):
    assert (await post(watched, own_issuer.token(kid="rsa-1"))).status_code == 201
    own_issuer.add_key(rsa_key("rsa-2"))
    own_issuer.published.remove("rsa-1")
    watched.clock.advance(auth.REFRESH_INTERVAL_SECONDS)
    assert (await post(watched, own_issuer.token(kid="rsa-2"))).status_code == 201
    assert own_issuer.jwks_fetches == 2
    # The withdrawn key's tokens go with it.
    assert_refused(await post(watched, own_issuer.token(kid="rsa-1")))


async def test_a_flood_of_unknown_kids_makes_one_key_fetch(watched, own_issuer):
    assert (await post(watched, own_issuer.token())).status_code == 201
    for n in range(20):
        own_issuer.add_key(rsa_key(f"made-up-{n}"), publish=False)
    watched.clock.advance(auth.REFRESH_INTERVAL_SECONDS)
    before = own_issuer.jwks_fetches
    flood = [post(watched, own_issuer.token(kid=f"made-up-{n}")) for n in range(20)]
    for response in await asyncio.gather(*flood):
        assert_refused(response)
    for n in range(5):  # and later ones within the interval fetch nothing
        assert_refused(await post(watched, own_issuer.token(kid=f"made-up-{n}")))
    assert own_issuer.jwks_fetches - before == 1


async def test_a_token_checked_just_as_the_key_fetch_finishes_is_accepted(own_issuer):
    """The fetch is done but its callback has not run yet: a request arriving then (one of 50 at
    start-up, tests/api/test_idempotency.py) must still see the keys, not refuse the token."""
    verifier = auth.Verifier(Settings(**own_issuer.settings()))
    keys = await asyncio.to_thread(verifier._fetch_keys)
    fetch = asyncio.get_running_loop().create_future()
    verifier._refreshing = fetch
    fetch.add_done_callback(verifier._refreshed)
    fetch.set_result(keys)  # done; the callback only scheduled
    claims = await verifier.authorize(f"Bearer {own_issuer.token()}", WRITE_SCOPE)
    assert claims["sub"] == SUBJECT
    await asyncio.sleep(0)  # the callback, run late, changes nothing
    assert verifier._refreshing is None and set(verifier._jwks) == set(keys)


async def test_a_malformed_key_from_the_issuer_refuses_its_tokens_without_a_500(
    watched, own_issuer
):
    broken = own_issuer.add_key(rsa_key("broken"), publish=False)
    own_issuer.extra_jwks.append({**broken.public_jwk(), "n": "not base64url!"})
    assert_refused(await post(watched, own_issuer.token(kid="broken")))
    assert (await post(watched, own_issuer.token(kid="rsa-1"))).status_code == 201


@pytest.mark.filterwarnings("ignore::jwt.InsecureKeyLengthWarning")  # the test issuer signing
async def test_a_key_under_2048_bits_is_refused_even_from_the_issuer(watched, own_issuer):
    own_issuer.add_key(rsa_key("short", bits=1024))
    assert_refused(await post(watched, own_issuer.token(kid="short")))


@pytest.mark.parametrize("alg", ["PS256", "RS512"])
async def test_other_rsa_algorithms_of_the_allow_list_verify(watched, own_issuer, alg):
    own_issuer.add_key(rsa_key(f"rsa-{alg}", alg=alg))
    assert (await post(watched, own_issuer.token(kid=f"rsa-{alg}"))).status_code == 201


async def test_the_issuer_down_does_not_stop_tokens_whose_keys_are_held(watched, own_issuer):
    assert (await post(watched, own_issuer.token())).status_code == 201
    own_issuer.stop()
    # Even once the keys are old enough to be refreshed (in the background, failing).
    watched.clock.advance(auth.KEYS_MAX_AGE_SECONDS)
    for _ in range(3):
        assert (await post(watched, own_issuer.token(kid="ec-1"))).status_code == 201


async def test_the_issuer_down_with_an_unknown_kid_is_503_with_retry_after(watched, own_issuer):
    assert (await post(watched, own_issuer.token())).status_code == 201
    own_issuer.add_key(rsa_key("rsa-new"), publish=False)
    own_issuer.stop()
    watched.clock.advance(auth.REFRESH_INTERVAL_SECONDS)
    response = await post(watched, own_issuer.token(kid="rsa-new"))
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert 1 <= int(response.headers["retry-after"]) <= auth.REFRESH_INTERVAL_SECONDS


async def test_an_api_started_while_the_issuer_is_down_serves_and_answers_503(own_issuer, tmp_path):
    own_issuer.stop()
    async with serve(auth_settings(own_issuer, tmp_path), headers={}) as client:
        assert (await client.get("/health")).status_code == 200
        assert (await client.get("/v1/cars")).status_code == 200
        assert (await post(client, own_issuer.token())).status_code == 503


# --- CORS ----------------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def browser_api(issuer: Issuer, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = auth_settings(
        issuer, tmp_path, cors_allowed_origins=frozenset({"https://app.example.com"})
    )
    async with serve(settings, headers={}) as client:
        yield client


async def test_a_preflight_from_an_allowed_origin_is_answered(browser_api):
    response = await browser_api.options(
        "/v1/cars/1",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization, content-type, if-match",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"
    assert {"PUT", "PATCH", "DELETE", "GET"} <= {
        m.strip() for m in response.headers["access-control-allow-methods"].split(",")
    }
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert {"authorization", "content-type", "if-match", "if-none-match", "idempotency-key"} <= (
        allowed
    )
    assert int(response.headers["access-control-max-age"]) > 0
    assert "access-control-allow-credentials" not in response.headers


async def test_a_preflight_from_another_origin_gets_no_cors_headers(browser_api):
    response = await browser_api.options(
        "/v1/cars",
        headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["vary"] == "Origin"


async def test_responses_to_an_allowed_origin_expose_etag_location_and_request_id(
    browser_api, issuer
):
    response = await browser_api.post(
        "/v1/cars",
        json=a_car(),
        headers={"Origin": "https://app.example.com", **issuer.bearer()},
    )
    assert response.status_code == 201
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"
    exposed = {h.strip() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"ETag", "Location", "X-Request-ID"} <= exposed


async def test_a_browser_may_send_an_idempotency_key_and_read_idempotent_replayed(
    browser_api, issuer
):
    preflight = await browser_api.options(
        "/v1/cars:batch",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "idempotency-key",
        },
    )
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed = {h.strip() for h in preflight.headers["access-control-allow-headers"].split(",")}
    assert "Idempotency-Key" in allowed
    headers = {"Origin": "https://app.example.com", "Idempotency-Key": "cors-1", **issuer.bearer()}
    car = a_car()
    await browser_api.post("/v1/cars", json=car, headers=headers)
    replayed = await browser_api.post("/v1/cars", json=car, headers=headers)
    assert replayed.headers["idempotent-replayed"] == "true"
    exposed = {h.strip() for h in replayed.headers["access-control-expose-headers"].split(",")}
    assert "Idempotent-Replayed" in exposed


async def test_without_allowed_origins_there_is_no_preflight(anonymous):
    response = await anonymous.options(
        "/v1/cars",
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 405
    assert "access-control-allow-origin" not in response.headers


# --- identity in the log, security in the document -----------------------------------------------


async def test_the_access_log_names_the_caller_and_never_the_token(
    anonymous, issuer, monkeypatch, capfd
):
    lines: list[dict] = []
    monkeypatch.setattr(logs, "_write", lambda batch: lines.extend(json.loads(b) for b in batch))
    token = issuer.token()
    assert (await post(anonymous, token)).status_code == 201
    assert_refused(await post(anonymous, token + "x"))
    logs.flush_access_log()
    posts = [line for line in lines if line["method"] == "POST"]
    assert [line["sub"] for line in posts] == [SUBJECT, None]
    everything = json.dumps(lines) + "".join(capfd.readouterr())
    signature = token.rsplit(".", 1)[1]
    assert signature not in everything


async def test_the_document_declares_who_needs_a_token(issuer, tmp_path):
    settings = auth_settings(issuer, tmp_path, auth_token_url="http://127.0.0.1:9/oauth2/token")
    async with serve(settings, headers={}) as client:
        document = (await client.get("/docs/openapi.json")).json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    flow = schemes["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "http://127.0.0.1:9/oauth2/token"
    assert WRITE_SCOPE in flow["scopes"]
    cars, one = document["paths"]["/v1/cars"], document["paths"]["/v1/cars/{car_id}"]
    for operation in (cars["post"], one["put"], one["patch"], one["delete"]):
        assert operation["security"] == [{"oauth2": [WRITE_SCOPE]}, {"bearerAuth": []}]
        assert {"401", "403"} <= set(operation["responses"])
    for operation in (cars["get"], one["get"], one["head"], document["paths"]["/health"]["get"]):
        assert "security" not in operation


async def test_with_a_read_scope_the_document_protects_reads_but_not_health(issuer, tmp_path):
    settings = auth_settings(issuer, tmp_path, auth_read_scope=READ_SCOPE)
    async with serve(settings, headers={}) as client:
        document = (await client.get("/docs/openapi.json")).json()
    assert document["paths"]["/v1/cars"]["get"]["security"] == [{"bearerAuth": []}]
    assert "security" not in document["paths"]["/version"]["get"]


async def test_with_auth_disabled_the_document_declares_no_security(tmp_path):
    settings = Settings(sqlite_path=str(tmp_path / "open.sqlite3"), auth_disabled=True)
    async with serve(settings) as client:
        document = (await client.get("/docs/openapi.json")).json()
        assert (await post(client, None)).status_code == 201
    assert "securitySchemes" not in document["components"]
