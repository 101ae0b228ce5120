"""Where the cache's Redis is and how to log in: parsed from ``REDIS_URL`` or the ``REDIS_*`` parts.

Its own module because both ``api.config`` (which validates the variables with these rules) and
``api.cache`` (which connects with the result) need it, and neither should import the other for it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

# A password's reserved characters, unencoded, make a URL mean something else.
_ENCODE_HINT = "; percent-encode @ : / in a password (%40 %3A %2F)"


@dataclass(frozen=True)
class RedisAddress:
    host: str
    port: int
    path: str | None
    tls: bool
    username: str | None
    password: str | None = field(repr=False)
    db: int

    @classmethod
    def from_url(cls, url: str) -> RedisAddress:
        """redis://[[user]:password@]host[:port][/db], rediss:// (TLS), unix:///path[?db=N].

        A ValueError says what is wrong (``api.config`` validates REDIS_URL with this).
        """
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must be a redis://, rediss:// or unix:// URL (redis://host:6379/0)")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"has an invalid port{_ENCODE_HINT}") from None
        query = parse_qs(parts.query)
        db_text = parts.path.strip("/") if parts.scheme != "unix" else ""
        db_text = db_text or query.get("db", ["0"])[0]
        if not db_text.isdigit():
            raise ValueError(
                f"the database number must be a whole number (redis://host:6379/0){_ENCODE_HINT}"
            )
        return cls(
            host=parts.hostname or "localhost",
            port=port or 6379,
            path=parts.path if parts.scheme == "unix" else None,
            tls=parts.scheme == "rediss",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            db=int(db_text),
        )

    @classmethod
    def from_parts(
        cls, host: str, port: int, *, tls: bool, username: str | None, password: str | None
    ) -> RedisAddress:
        """REDIS_HOST and friends: an ElastiCache endpoint and user as the data stack exports them.

        Always database 0: a Redis Cluster (ElastiCache Serverless) has no other.
        """
        return cls(
            host=host, port=port, path=None, tls=tls, username=username, password=password, db=0
        )


def parse_host(value: str) -> str | None:
    """REDIS_HOST: a host name or IP address; None when empty; a ValueError says what is wrong."""
    host = value.strip()
    if not host:
        return None
    if "://" in host or "@" in host or "/" in host:
        raise ValueError("must be a host name or address, not a URL (a URL goes in REDIS_URL)")
    if ":" in host:
        try:
            ipaddress.IPv6Address(host.strip("[]"))
        except ValueError:
            message = "must be a host name or address; the port goes in REDIS_PORT"
            raise ValueError(message) from None
        return host.strip("[]")
    if any(c.isspace() for c in host):
        raise ValueError("must be a host name or address (no spaces)")
    return host
