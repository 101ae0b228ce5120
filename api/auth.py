"""Who may write: the API as an OAuth 2 resource server (bearer JWT access tokens, RFC 6750/9068).

Every route answering a non-safe method needs a token with ``AUTH_WRITE_SCOPE``; reads need
``AUTH_READ_SCOPE`` when it is set. ``install`` wraps the handlers of the app's real routes once
they all exist, so a route added later is protected by default; ``public`` marks the exceptions
(health, version, the docs).

Tokens are checked with PyJWT against the issuer's published keys only: an allow-list of
asymmetric algorithms, ``iss``, audience (``aud``, or ``client_id`` for Cognito access tokens,
which carry no ``aud``), ``exp``/``nbf`` with ``LEEWAY_SECONDS``, ``token_use`` when present
(Cognito ID tokens are refused) and the scope (``scope`` string or ``scp`` list).

Keys: discovery (``/.well-known/openid-configuration``) and the JWKS are fetched lazily, in a
thread (PyJWKClient's transport is synchronous), with bounded timeouts: an issuer that is down at
start-up does not stop the API, only the writes it cannot check yet. Known keys are held in memory
(no network call per request) and kept when a fetch fails; an unknown ``kid`` triggers one
refresh, at most one per ``REFRESH_INTERVAL_SECONDS`` whatever the number of such tokens, and
concurrent requests share it. Keys older than ``KEYS_MAX_AGE_SECONDS`` are refreshed in the
background, so a key the issuer withdrew stops being accepted without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import wraps
from typing import Any

import jwt
from jwt import PyJWK, PyJWKClient

from api.config import Settings
from api.problems import Problem, ServiceUnavailable

log = logging.getLogger("api.auth")

REALM = "api-cars"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Asymmetric only: a token can be signed by the issuer's private keys and nobody else. Never
# "none", never HS*: an HMAC "secret" would be the public key anyone can download.
ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
)  # fmt: skip
# Clock skew tolerated on exp and nbf.
LEEWAY_SECONDS = 30
# Each discovery or JWKS request; the thread it runs in holds no event-loop time.
FETCH_TIMEOUT_SECONDS = 5
# At most one key fetch per this many seconds for unknown kids (a flood of made-up kids costs the
# issuer one request) and the Retry-After of a 503 while the issuer cannot be reached.
REFRESH_INTERVAL_SECONDS = 30
# Known keys are re-fetched in the background once this old (Cognito rotates rarely).
KEYS_MAX_AGE_SECONDS = 3600
# Tokens already verified, kept until they expire: a repeat costs a dict lookup, not a signature
# check (docs/benchmarks.md has the measurement).
TOKEN_CACHE_SIZE = 4096

DISCOVERY_PATH = "/.well-known/openid-configuration"


class Unauthorized(Problem):
    status = 401


class Forbidden(Problem):
    status = 403


class IssuerUnavailable(Exception):
    """The keys could not be fetched (network, HTTP status, not JSON, wrong document)."""


def public(handler: Callable) -> Callable:
    """Mark a handler as open to anyone, whatever the method and the settings."""
    handler.__public__ = True
    return handler


def required_scope(handler: Callable, method: str, settings: Settings) -> str | None:
    """The scope ``method`` on ``handler`` needs; None: no token needed."""
    if settings.auth_disabled or getattr(handler, "__public__", False) or method == "OPTIONS":
        return None
    if method in SAFE_METHODS:
        return settings.auth_read_scope
    return settings.auth_write_scope


def _challenge(**params: str) -> dict[str, str]:
    fields = ", ".join([f'realm="{REALM}"', *(f'{k}="{v}"' for k, v in params.items())])
    return {"WWW-Authenticate": f"Bearer {fields}"}


def _invalid_token() -> Unauthorized:
    # One answer for every bad token: why a signature or claim failed is nobody's business.
    return Unauthorized(
        "The bearer token is not valid (expired, not for this API, or not signed by its issuer).",
        headers=_challenge(error="invalid_token"),
    )


class Verifier:
    """Checks bearer tokens for one issuer and audience; one per app (per worker process)."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> None:
        assert settings.auth_issuer is not None
        self.issuer = settings.auth_issuer
        self.audiences = frozenset(settings.auth_audience)
        self.clock = clock
        self._discovery_client = PyJWKClient(
            self.issuer.rstrip("/") + DISCOVERY_PATH,
            cache_jwk_set=False,
            timeout=FETCH_TIMEOUT_SECONDS,
        )
        self._jwks_client: PyJWKClient | None = None
        self._jwks: dict[str, dict[str, Any]] = {}  # kid -> the JWK as published
        self._prepared: dict[tuple[str, str], PyJWK] = {}  # (kid, alg) -> parsed key
        self._verified: OrderedDict[str, dict[str, Any]] = OrderedDict()  # token -> claims
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._failed = False
        self._refreshing: asyncio.Future | None = None

    # --- the request path ------------------------------------------------------------------------

    async def authorize(self, authorization: str | None, scope: str) -> dict[str, Any]:
        """The claims of the request's token, if it carries ``scope``; else a Problem."""
        if authorization is None or authorization[:7].lower() != "bearer ":
            raise Unauthorized(
                "This operation needs a bearer token: Authorization: Bearer <access token>.",
                headers=_challenge(),
            )
        token = authorization[7:].strip()
        claims = self._verified.get(token)
        if claims is None or claims["exp"] + LEEWAY_SECONDS <= time.time():
            claims = await self._verify(token)
        scopes = _scopes(claims)
        if scope not in scopes:
            raise Forbidden(
                f"The token lacks the scope {scope} this operation needs.",
                headers=_challenge(error="insufficient_scope", scope=scope),
            )
        return claims

    async def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _invalid_token() from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS or not isinstance(kid, str):
            raise _invalid_token()
        key = await self._key(kid, alg)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={
                    "require": ["exp", "iss", "sub"],
                    "verify_aud": False,  # checked below: aud, or client_id for Cognito
                    # An RSA key under 2048 bits (or a weak EC/HMAC key) is refused, not warned of.
                    "enforce_minimum_key_length": True,
                },
            )
        except jwt.PyJWTError as error:
            log.info("bearer token refused", extra={"reason": type(error).__name__})
            raise _invalid_token() from None
        if not self._for_us(claims) or claims.get("token_use", "access") != "access":
            log.info("bearer token refused", extra={"reason": "audience or token_use"})
            raise _invalid_token()
        if not isinstance(claims["exp"], int | float) or not isinstance(claims["sub"], str):
            raise _invalid_token()
        self._remember(token, claims)
        return claims

    def _for_us(self, claims: dict[str, Any]) -> bool:
        if "aud" in claims:
            aud = claims["aud"]
            audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
            return not self.audiences.isdisjoint(a for a in audiences if isinstance(a, str))
        # Cognito's access tokens name their app client in client_id and have no aud.
        return claims.get("client_id") in self.audiences

    def _remember(self, token: str, claims: dict[str, Any]) -> None:
        self._verified[token] = claims
        if len(self._verified) > TOKEN_CACHE_SIZE:
            self._verified.popitem(last=False)  # the oldest verified

    # --- keys ------------------------------------------------------------------------------------

    async def _key(self, kid: str, alg: str) -> PyJWK:
        jwk = self._jwks.get(kid)
        if jwk is None:
            if self._refreshing is not None or self._may_fetch():
                await self._refresh()
            jwk = self._jwks.get(kid)
            if jwk is None:
                if self._failed:
                    raise ServiceUnavailable(
                        "The token issuer cannot be reached to check this token; retry shortly.",
                        headers={"Retry-After": str(self._retry_after())},
                    )
                raise _invalid_token()
        elif self._stale() and self._refreshing is None and self._may_fetch():
            self._start_fetch()  # in the background: this request uses the keys held
        prepared = self._prepared.get((kid, alg))
        if prepared is None:
            if jwk.get("alg", alg) != alg:
                raise _invalid_token()
            try:
                prepared = PyJWK(jwk, algorithm=alg)
            # A key of another type than alg (an EC key for RS256 ...), or one the issuer
            # published malformed: the token cannot be checked, so it is not valid.
            except (jwt.PyJWTError, ValueError, KeyError, TypeError):
                raise _invalid_token() from None
            self._prepared[(kid, alg)] = prepared
        return prepared

    def _may_fetch(self) -> bool:
        return (
            self._attempted_at is None
            or self.clock() - self._attempted_at >= REFRESH_INTERVAL_SECONDS
        )

    def _stale(self) -> bool:
        return self._fetched_at is not None and (
            self.clock() - self._fetched_at >= KEYS_MAX_AGE_SECONDS
        )

    def _retry_after(self) -> int:
        waited = self.clock() - (self._attempted_at or 0)
        return max(1, math.ceil(REFRESH_INTERVAL_SECONDS - waited))

    def _start_fetch(self) -> asyncio.Future:
        if self._refreshing is None:
            self._attempted_at = self.clock()
            self._refreshing = asyncio.ensure_future(asyncio.to_thread(self._fetch_keys))
            # Applied by the first waiter to resume, or by this callback (a background refresh).
            self._refreshing.add_done_callback(self._refreshed)
        return self._refreshing

    async def _refresh(self) -> None:
        """Fetch the key set once for everyone waiting; a failure keeps the keys held (the
        callback has recorded it: the waiters look at ``_failed``)."""
        fetch = self._start_fetch()
        # Shielded: a caller that goes away does not cancel the others' fetch.
        with contextlib.suppress(Exception):
            await asyncio.shield(fetch)
        # A caller that came when the fetch had just finished, its callback only scheduled,
        # resumes at once (shield hands back a done future as it is): apply it here, or that
        # caller would see no keys and refuse a valid token.
        self._refreshed(fetch)

    def _refreshed(self, future: asyncio.Future) -> None:
        if self._refreshing is not future:
            return  # already applied (by a waiter, or this callback)
        self._refreshing = None
        error = future.exception() if not future.cancelled() else IssuerUnavailable("cancelled")
        if error is not None:
            self._failed = True
            log.warning(
                "token issuer unreachable; keeping the keys held",
                extra={"issuer": self.issuer, "error": str(error), "keys": len(self._jwks)},
            )
            return
        jwks = future.result()
        if jwks != self._jwks:
            # A withdrawn key takes the tokens it verified with it.
            self._verified.clear()
            self._prepared.clear()
            log.info("token signing keys loaded", extra={"issuer": self.issuer, "kids": list(jwks)})
        self._jwks = jwks
        self._fetched_at = self.clock()
        self._failed = False

    def _fetch_keys(self) -> dict[str, dict[str, Any]]:
        """Discovery (once) and the JWKS; in a worker thread."""
        try:
            if self._jwks_client is None:
                self._jwks_client = self._client_from_discovery()
            data = self._jwks_client.fetch_data()
        except (jwt.PyJWKClientError, ValueError) as error:  # ValueError: not JSON
            raise IssuerUnavailable(str(error)) from None
        keys = data.get("keys")
        if not isinstance(keys, list):
            raise IssuerUnavailable("the JWKS has no keys list")
        return {
            key["kid"]: key
            for key in keys
            if isinstance(key, dict)
            and isinstance(key.get("kid"), str)
            and key.get("use", "sig") == "sig"
        }

    def _client_from_discovery(self) -> PyJWKClient:
        document = self._discovery_client.fetch_data()
        if document.get("issuer") != self.issuer:
            # OpenID Connect Discovery 1.0, 4.3: the document must name the issuer it describes.
            raise IssuerUnavailable(
                f"the discovery document names issuer {document.get('issuer')!r}, "
                f"not AUTH_ISSUER {self.issuer!r}"
            )
        jwks_uri = document.get("jwks_uri")
        issuer_scheme = self.issuer.split(":", 1)[0]
        if not isinstance(jwks_uri, str) or jwks_uri.split(":", 1)[0] != issuer_scheme:
            raise IssuerUnavailable(f"the discovery document's jwks_uri is not usable: {jwks_uri}")
        return PyJWKClient(jwks_uri, cache_jwk_set=False, timeout=FETCH_TIMEOUT_SECONDS)


def _scopes(claims: dict[str, Any]) -> list[str]:
    scope = claims.get("scope")
    if isinstance(scope, str):
        return scope.split()
    scp = claims.get("scp")  # Okta, Entra ID: a list (or a string)
    if isinstance(scp, str):
        return scp.split()
    if isinstance(scp, list):
        return [s for s in scp if isinstance(s, str)]
    return []


def install(app, settings: Settings) -> None:
    """Wrap the handler of every route that needs a token; call once every route exists."""
    if settings.auth_disabled:
        log.warning("AUTH_DISABLED=true: writes are open to anyone")
        return
    verifier = Verifier(settings)
    app.ctx.auth = verifier
    for route in app.router.routes:
        needs = {m: s for m in route.methods if (s := required_scope(route.handler, m, settings))}
        if needs:
            route.handler = _guarded(route.handler, needs, verifier)


def _guarded(handler: Callable, needs: dict[str, str], verifier: Verifier) -> Callable:
    @wraps(handler)
    async def guarded(request, *args, **kwargs):
        scope = needs.get(request.method)
        if scope is not None:
            claims = await verifier.authorize(request.headers.get("authorization"), scope)
            request.sub = claims["sub"]
        return await handler(request, *args, **kwargs)

    return guarded
