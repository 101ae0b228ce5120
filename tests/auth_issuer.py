"""A token issuer on loopback for the tests: OpenID Connect discovery and a JWKS served over real
HTTP from a thread, throwaway RSA and EC keys (cryptography), access tokens minted with PyJWT.

The API under test fetches from it exactly as it would from Cognito; the test counts the fetches,
rotates the keys, and stops the server to play an issuer that is down.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

AUDIENCE = "api-cars-tests"
WRITE_SCOPE = "cars:write"
READ_SCOPE = "cars:read"
SUBJECT = "client-0123456789"


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: Any

    def public_jwk(self) -> dict[str, Any]:
        algorithm = RSAAlgorithm if self.alg.startswith(("RS", "PS")) else ECAlgorithm
        jwk = algorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}


def rsa_key(kid: str, alg: str = "RS256", bits: int = 2048) -> SigningKey:
    return SigningKey(kid, alg, rsa.generate_private_key(public_exponent=65537, key_size=bits))


def ec_key(kid: str) -> SigningKey:
    return SigningKey(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))


@dataclass
class Issuer:
    """Serving on 127.0.0.1 from ``start()`` to ``stop()``; ``published`` is what the JWKS lists."""

    keys: dict[str, SigningKey] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)
    extra_jwks: list[dict[str, Any]] = field(default_factory=list)  # served as they are
    discovery_fetches: int = 0
    jwks_fetches: int = 0

    def start(self) -> Issuer:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    issuer.discovery_fetches += 1
                    body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks.json"}
                elif self.path == "/jwks.json":
                    issuer.jwks_fetches += 1
                    keys = [issuer.keys[kid].public_jwk() for kid in issuer.published]
                    body = {"keys": keys + issuer.extra_jwks}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        for key in (rsa_key("rsa-1"), ec_key("ec-1")):
            self.add_key(key)
        return self

    def stop(self) -> None:
        """Down: the port refuses connections from now on."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def add_key(self, key: SigningKey, *, publish: bool = True) -> SigningKey:
        self.keys[key.kid] = key
        if publish:
            self.published.append(key.kid)
        return key

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """The Settings fields that point the API at this issuer."""
        return {"auth_issuer": self.url, "auth_audience": (AUDIENCE,), **overrides}

    def env(self, **overrides: str) -> dict[str, str]:
        """The same as environment variables, for an API process."""
        return {"AUTH_ISSUER": self.url, "AUTH_AUDIENCE": AUDIENCE, **overrides}

    def token(
        self,
        scope: str | None = f"{WRITE_SCOPE} {READ_SCOPE}",
        *,
        kid: str = "rsa-1",
        lifetime: float = 3600,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """An access token signed with the key ``kid``; ``claims`` override or (None) remove."""
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.url,
            "sub": SUBJECT,
            "aud": AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + int(lifetime),
            "jti": f"{now}-{time.perf_counter_ns()}",
        }
        if scope is not None:
            body["scope"] = scope
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        key = self.keys[kid]
        return jwt.encode(
            body, key.private, algorithm=key.alg, headers={"kid": kid, **(headers or {})}
        )

    def bearer(self, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(**kwargs)}"}
