"""Settings: every environment variable the API reads, validated once at start-up.

Each variable is declared once in ``VARIABLES`` (name, default, meaning, parser); the README table
and the error messages come from the same declarations.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from api.redis_address import RedisAddress, parse_host


class ConfigError(Exception):
    """One or more environment variables are invalid; ``problems`` has one line per bad value."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _text(value: str) -> str:
    return value


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"must be a whole number from {low} to {high}") from None
        if not low <= number <= high:
            raise ValueError(f"must be a whole number from {low} to {high}")
        return number

    return parse


def _seconds(low: float, high: float) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"must be a number of seconds from {low:g} to {high:g}") from None
        if not low <= number <= high:
            raise ValueError(f"must be a number of seconds from {low:g} to {high:g}")
        return number

    return parse


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("must be true or false (also accepted: 1/0, yes/no, on/off)")


def _postgres_url(value: str) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError("must be a postgresql:// URL (postgresql://user:password@host:5432/db)")
    if not parts.hostname and "host=" not in parts.query:
        raise ValueError("must name a host (postgresql://user:password@host:5432/db)")
    try:
        parts.port  # noqa: B018 - raises on a non-numeric port
    except ValueError:
        raise ValueError("has an invalid port") from None
    return value


def _optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An unset or empty variable is None (libpq's own default applies); otherwise ``parse``."""

    def parse_optional(value: str) -> Any:
        return parse(value) if value else None

    return parse_optional


# libpq's sslmode values, weakest first (asyncpg knows the same six).
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def _ssl_mode(value: str) -> str:
    if value not in SSL_MODES:
        raise ValueError(f"must be one of {', '.join(SSL_MODES)}")
    return value


def _readable_file(value: str) -> str:
    try:
        with open(value, "rb"):
            pass
    except OSError as error:
        raise ValueError(f"cannot be read ({error.strerror})") from None
    return value


def _host(value: str) -> str:
    if value != value.strip() or "," in value:
        raise ValueError("must be one host name or address (no spaces, no host lists)")
    return value


def _redis_url(value: str) -> str | None:
    if not value:
        return None
    RedisAddress.from_url(value)  # the parser the cache connects with: one set of rules
    return value


def _optional_text(value: str) -> str | None:
    return value or None


# Everything between a URL's scheme and its last @ (user, password), hidden in error messages.
_CREDENTIALS = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://).*@", re.DOTALL)


def _shown(raw: str) -> str:
    """A value as an error message may show it: a URL's user and password replaced by ***."""
    return _CREDENTIALS.sub(r"\1***@", raw)


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(value: str) -> str:
    upper = value.strip().upper()
    if upper not in _LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}")
    return upper


def _optional_text(value: str) -> str | None:
    """Unset or blank is None (``/version`` answers null), not an empty string."""
    return value.strip() or None


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _https_url(value: str) -> str | None:
    """An https URL with a host (http only on loopback, for tests), or None when unset."""
    if not value:
        return None
    parts = urlsplit(value)
    if not parts.hostname:
        raise ValueError("must be an https:// URL with a host")
    if parts.scheme != "https" and not (parts.scheme == "http" and _is_loopback(parts.hostname)):
        raise ValueError("must be an https:// URL (http:// only on a loopback address, for tests)")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("must have no query, fragment or credentials")
    return value


# RFC 6749 3.3: a scope token is printable ASCII other than space, " and \.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+")


def _scope(value: str) -> str:
    if not _SCOPE_TOKEN.fullmatch(value):
        raise ValueError(
            "must be one OAuth scope (no spaces or quotes), e.g. cars:write or api-cars/cars:write"
        )
    return value


def _audiences(value: str) -> tuple[str, ...]:
    audiences = tuple(part.strip() for part in value.split(",") if part.strip())
    if any(" " in audience for audience in audiences):
        raise ValueError("must be comma-separated audiences (client ids) without spaces")
    return audiences


def _origins(value: str) -> frozenset[str]:
    origins = set()
    for part in (part.strip() for part in value.split(",")):
        if not part:
            continue
        parts = urlsplit(part)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path
            or parts.query
            or parts.fragment
            or parts.username
        ):
            raise ValueError(
                f"{part!r} is not an origin: scheme://host[:port], no path "
                "(comma-separated, e.g. https://app.example.com,http://localhost:3000)"
            )
        origins.add(part.lower())
    return frozenset(origins)


@dataclass(frozen=True)
class Variable:
    env: str
    default: str
    meaning: str
    parse: Callable[[str], Any]
    secret: bool = False  # an error message never shows its value


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "DATABASE_URL",
        "",
        "PostgreSQL URL (`postgresql://user:password@host:5432/db`); wins over the `PG*` "
        "variables. Unset: PostgreSQL from `PGHOST` and the rest, or without any of them the "
        "embedded SQLite file at `SQLITE_PATH`.",
        _postgres_url,
    ),
    Variable(
        "DATABASE_READ_URL",
        "",
        "Optional PostgreSQL read replica; GET requests read from it. Unset: reads use "
        "`DATABASE_URL`.",
        _postgres_url,
    ),
    Variable(
        "PGHOST",
        "",
        "PostgreSQL host when `DATABASE_URL` is unset: libpq's variables (`PGHOST`, `PGPORT`, "
        "`PGDATABASE`, `PGUSER`, `PGPASSWORD`, `PGSSLMODE`, `PGSSLROOTCERT`; any of the first six "
        "selects PostgreSQL) are read by asyncpg and psycopg themselves, and checked here.",
        _optional(_host),
    ),
    Variable(
        "PGPORT", "", "PostgreSQL port (libpq's default: 5432).", _optional(_int_between(1, 65535))
    ),
    Variable("PGDATABASE", "", "PostgreSQL database (libpq's default: the user name).", _text),
    Variable("PGUSER", "", "PostgreSQL user (libpq's default: the OS user).", _text),
    Variable(
        "PGPASSWORD", "", "PostgreSQL password (never shown in a message).", _text, secret=True
    ),
    Variable(
        "PGSSLMODE",
        "",
        "TLS to PostgreSQL: `disable` ... `verify-full` (libpq's default: `prefer`). The service "
        "template sets `verify-full` for Aurora.",
        _optional(_ssl_mode),
    ),
    Variable(
        "PGSSLROOTCERT",
        "",
        "CA certificates `verify-ca`/`verify-full` check the server against; the image ships "
        "Amazon RDS's at `/opt/rds-ca/global-bundle.pem`.",
        _optional(_readable_file),
    ),
    Variable(
        "DATABASE_READ_HOST",
        "",
        "Host of a PostgreSQL read replica, everything else as for the primary (`PG*` or "
        "`DATABASE_URL`); GET requests read from it. Equal to the primary's host, or unset: no "
        "replica.",
        _optional(_host),
    ),
    Variable(
        "SQLITE_PATH",
        "api-cars.sqlite3",
        "SQLite file used when neither `DATABASE_URL` nor any `PG*` variable is set.",
        _non_empty,
    ),
    Variable(
        "DATABASE_POOL_SIZE",
        "10",
        "Most PostgreSQL connections per process (per pool).",
        _int_between(1, 500),
    ),
    Variable(
        "DATABASE_TIMEOUT_SECONDS",
        "5",
        "Limit for waiting for a free connection (or an insert's turn in a batch) and for one "
        "statement; past it the request gets a 503. While the pool is opening connections, "
        "waiting may last up to `DATABASE_CONNECT_TIMEOUT_SECONDS`.",
        _seconds(0.1, 300),
    ),
    Variable(
        "DATABASE_CONNECT_TIMEOUT_SECONDS",
        "20",
        "Limit for opening a PostgreSQL connection (TCP, TLS, authentication): above the ~15 s "
        "an auto-paused Aurora Serverless v2 takes to resume.",
        _seconds(0.1, 300),
    ),
    Variable(
        "DATABASE_IDLE_TIMEOUT_SECONDS",
        "60",
        "A pooled PostgreSQL connection unused this long is closed (0: never), so an idle "
        "service holds no connection and Aurora can pause.",
        _seconds(0, 86400),
    ),
    Variable(
        "REDIS_URL",
        "",
        "Redis URL for the read-through cache: `redis://[[user]:password@]host:6379/0`, "
        "`rediss://` for TLS (verified against the system CAs, or those in `SSL_CERT_FILE`), "
        "`unix:///path?db=0`; percent-encode `@ : /` in a password. Unset: the `REDIS_HOST` "
        "variables, or no cache. Wins over them when both are set.",
        _redis_url,
    ),
    Variable(
        "REDIS_HOST",
        "",
        "Redis host (an ElastiCache endpoint, as the data stack passes it) when `REDIS_URL` is "
        "unset, with `REDIS_PORT`, `REDIS_TLS`, `REDIS_USERNAME`, `REDIS_PASSWORD`; database 0. "
        "Unset (and no `REDIS_URL`): no cache.",
        parse_host,
    ),
    Variable("REDIS_PORT", "6379", "Port of `REDIS_HOST`.", _int_between(1, 65535)),
    Variable(
        "REDIS_TLS",
        "false",
        "Speak TLS to `REDIS_HOST` (ElastiCache Serverless: `true`), verified like `rediss://`.",
        _boolean,
    ),
    Variable(
        "REDIS_USERNAME",
        "",
        "ACL user for `REDIS_HOST` (needs `REDIS_PASSWORD`). Unset: the default user.",
        _optional_text,
    ),
    Variable(
        "REDIS_PASSWORD",
        "",
        "Password for `REDIS_HOST` (the ACL user's, or the default user's). Unset: no AUTH.",
        _optional_text,
        secret=True,
    ),
    Variable(
        "CACHE_TTL_SECONDS",
        "60",
        "How long a cached car lives in Redis.",
        _int_between(1, 86400),
    ),
    Variable(
        "CACHE_KEY_PREFIX",
        "api-cars:",
        "Prefix of every Redis key the API writes.",
        _text,
    ),
    Variable(
        "REDIS_TIMEOUT_SECONDS",
        "0.25",
        "Socket timeout for Redis; a slower Redis is treated as down and requests use the "
        "database.",
        _seconds(0.01, 30),
    ),
    Variable(
        "REDIS_RETRY_SECONDS",
        "5",
        "After a Redis failure the cache is bypassed for this long, then tried again.",
        _seconds(0, 3600),
    ),
    Variable("APP_VERSION", "dev", "Version reported by `GET /version` (the image tag).", _text),
    Variable(
        "GIT_SHA",
        "",
        "Commit the image was built from (reported by `/version`; null when unset).",
        _optional_text,
    ),
    Variable(
        "BUILD_DATE",
        "",
        "When the image was built (reported by `/version`; null when unset).",
        _optional_text,
    ),
    Variable("HOST", "127.0.0.1", "Address to listen on (the image sets `0.0.0.0`).", _non_empty),
    Variable("PORT", "8000", "Port to listen on.", _int_between(1, 65535)),
    Variable(
        "WORKERS",
        "1",
        "Worker processes; 1 runs a single process (fast start, signals go straight to it).",
        _int_between(1, 64),
    ),
    Variable(
        "LOG_LEVEL", "INFO", "Level of the application log (`DEBUG` ... `CRITICAL`).", _log_level
    ),
    Variable(
        "SHUTDOWN_GRACE_SECONDS",
        "20",
        "On SIGTERM, how long in-flight requests may take before the process exits "
        "(keep it below ECS `stopTimeout`, 30).",
        _seconds(0, 600),
    ),
    Variable(
        "SHUTDOWN_DRAIN_SECONDS",
        "0",
        "On SIGTERM, how long the API keeps serving while `/health` and `/ready` answer 503, so "
        "a load balancer that still sends (a Spot interruption signals before it deregisters) "
        "stops first; then the graceful stop. The task definition sets it from the target "
        "group's health check (interval x unhealthy threshold, capped below `stopTimeout`). "
        "With WORKERS=1 only.",
        _seconds(0, 600),
    ),
    Variable(
        "MIGRATE_ON_START",
        "true",
        "Apply database migrations at start-up (safe with several tasks starting at once).",
        _boolean,
    ),
    Variable(
        "REQUEST_MAX_SIZE",
        "65536",
        "Largest request body in bytes; larger bodies get a 413.",
        _int_between(1024, 100 * 1024 * 1024),
    ),
    Variable(
        "IDEMPOTENCY_TTL_SECONDS",
        "86400",
        "How long an `Idempotency-Key` (of `POST /v1/cars` or a batch row) is remembered, from its "
        "first use: a retry within it answers the first outcome; after it the key is free again "
        "(expired keys are ignored, and deleted every 5 minutes by each process).",
        _int_between(1, 30 * 86400),
    ),
    Variable(
        "BATCH_MAX_ITEMS",
        "500",
        "Most cars one `POST /v1/cars:batch` may carry (more: 422 for the whole request).",
        _int_between(1, 10_000),
    ),
    Variable(
        "BATCH_MAX_BYTES",
        "1048576",
        "Largest `POST /v1/cars:batch` body in bytes (more: 413); `REQUEST_MAX_SIZE` limits the "
        "other routes.",
        _int_between(1024, 100 * 1024 * 1024),
    ),
    Variable(
        "AUTH_ISSUER",
        "",
        "OAuth 2 / OpenID Connect issuer of the bearer tokens writes need (`https://...`; its "
        "`/.well-known/openid-configuration` names the keys; Cognito: "
        "`https://cognito-idp.<region>.amazonaws.com/<pool id>`). Unset: the API refuses to "
        "serve unless `AUTH_DISABLED=true`.",
        _https_url,
    ),
    Variable(
        "AUTH_AUDIENCE",
        "",
        "Who the tokens must be for, comma-separated: matched against `aud`, or `client_id` when "
        "a token has no `aud` (Cognito access tokens). Required with `AUTH_ISSUER`.",
        _audiences,
    ),
    Variable(
        "AUTH_WRITE_SCOPE",
        "cars:write",
        "Scope a token needs for POST, PUT, PATCH and DELETE, compared as a whole string "
        "(Cognito: `<resource server>/<scope>`, e.g. `api-cars/cars:write`).",
        _scope,
    ),
    Variable(
        "AUTH_READ_SCOPE",
        "",
        "Scope a token needs for GET and HEAD under /v1. Unset: reads are public.",
        _optional(_scope),
    ),
    Variable(
        "AUTH_TOKEN_URL",
        "",
        "The issuer's token endpoint, shown in the OpenAPI document (OAuth 2 client credentials) "
        "so /docs can fetch a token. Unset: /docs takes a pasted bearer token.",
        _https_url,
    ),
    Variable(
        "AUTH_DISABLED",
        "false",
        "`true`: serve without `AUTH_ISSUER`, every write open to anyone (local development "
        "only; `make dev` sets it).",
        _boolean,
    ),
    Variable(
        "CORS_ALLOWED_ORIGINS",
        "",
        "Browser origins allowed to call the API, comma-separated (`https://app.example.com`). "
        "Unset: none (no CORS headers, no preflight).",
        _origins,
    ),
)


@dataclass(frozen=True)
class Settings:
    """The validated settings. The ``pg*`` fields are checked and decide that PostgreSQL is in
    use, but the drivers read libpq's variables from the process environment themselves (asyncpg
    and psycopg both do, with libpq's defaults), so settings made in code select PostgreSQL with
    ``database_url``."""

    database_url: str | None = None
    database_read_url: str | None = None
    pghost: str | None = None
    pgport: int | None = None
    pgdatabase: str = ""
    pguser: str = ""
    pgpassword: str = field(default="", repr=False)
    pgsslmode: str | None = None
    pgsslrootcert: str | None = None
    database_read_host: str | None = None
    sqlite_path: str = "api-cars.sqlite3"
    database_pool_size: int = 10
    database_timeout_seconds: float = 5.0
    database_connect_timeout_seconds: float = 20.0
    database_idle_timeout_seconds: float = 60.0
    redis_url: str | None = None
    redis_host: str | None = None
    redis_port: int = 6379
    redis_tls: bool = False
    redis_username: str | None = None
    redis_password: str | None = field(default=None, repr=False)
    cache_ttl_seconds: int = 60
    cache_key_prefix: str = "api-cars:"
    redis_timeout_seconds: float = 0.25
    redis_retry_seconds: float = 5.0
    app_version: str = "dev"
    git_sha: str | None = None
    build_date: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "INFO"
    shutdown_grace_seconds: float = 20.0
    shutdown_drain_seconds: float = 0.0
    migrate_on_start: bool = True
    request_max_size: int = 65536
    idempotency_ttl_seconds: int = 86400
    batch_max_items: int = 500
    batch_max_bytes: int = 1048576
    auth_issuer: str | None = None
    auth_audience: tuple[str, ...] = ()
    auth_write_scope: str = "cars:write"
    auth_read_scope: str | None = None
    auth_token_url: str | None = None
    auth_disabled: bool = False
    cors_allowed_origins: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every variable; raise ConfigError listing every bad value."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems: list[str] = []
        for variable in VARIABLES:
            raw = environ.get(variable.env, variable.default)
            try:
                values[variable.env.lower()] = variable.parse(raw)
            except ValueError as error:
                shown = "***" if variable.secret else _shown(raw)
                problems.append(f"{variable.env}={shown!r}: {error}")
        if not values.get("database_url") and values.get("database_read_url"):
            problems.append("DATABASE_READ_URL is set but DATABASE_URL is not: set both or neither")
        problems += _database_problems(values, environ)
        problems += _redis_problems(values)
        problems += _auth_problems(values)
        if problems:
            raise ConfigError(problems)
        return cls(**values)

    def serving_problems(self) -> list[str]:
        """What keeps these settings from serving requests (migrating and seeding need none of
        it): no token issuer without the explicit AUTH_DISABLED=true would leave writes open."""
        if self.auth_issuer is None and not self.auth_disabled:
            return [
                "AUTH_ISSUER is not set: set it (and AUTH_AUDIENCE) so writes need a bearer "
                "token, or set AUTH_DISABLED=true to serve with writes open to anyone"
            ]
        return []

    @property
    def uses_postgres(self) -> bool:
        """DATABASE_URL, or any of the libpq variables that select PostgreSQL."""
        return self.database_url is not None or any(
            getattr(self, name.lower()) for name in PG_SELECTORS
        )

    @property
    def write_host(self) -> str | None:
        """The primary's host as configured (None: libpq's default)."""
        if self.database_url is not None:
            return urlsplit(self.database_url).hostname
        return self.pghost

    @property
    def read_host(self) -> str | None:
        """The replica's host, or None when there is none (unset, or the primary's own host:
        the data stack exports the writer's address as the reader endpoint when it has no
        readers)."""
        host = self.database_read_host
        if host is None or host.lower() == (self.write_host or "").lower():
            return None
        return host

    @property
    def reads_from_replica(self) -> bool:
        """GET requests read from a replica, which may lag behind the primary."""
        return self.database_read_url is not None or self.read_host is not None

    @property
    def redis_address(self) -> RedisAddress | None:
        """The cache's Redis: ``REDIS_URL``, else the ``REDIS_HOST`` parts; None: no cache."""
        if self.redis_url:
            return RedisAddress.from_url(self.redis_url)
        if self.redis_host:
            return RedisAddress.from_parts(
                self.redis_host,
                self.redis_port,
                tls=self.redis_tls,
                username=self.redis_username,
                password=self.redis_password,
            )
        return None


# Any of these set (and DATABASE_URL unset) means PostgreSQL through libpq's variables. Not
# PGSSLROOTCERT: a CA file alone says nothing about where the database is.
PG_SELECTORS = ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSSLMODE")


def _database_problems(values: dict[str, Any], environ: Mapping[str, str]) -> list[str]:
    """The database settings that are valid one by one but not together."""
    problems = []
    postgres = values.get("database_url") or any(values.get(n.lower()) for n in PG_SELECTORS)
    if values.get("database_read_host"):
        if values.get("database_read_url"):
            problems.append("DATABASE_READ_HOST and DATABASE_READ_URL are both set: set one")
        elif not postgres:
            problems.append(
                "DATABASE_READ_HOST is set but no PostgreSQL is (DATABASE_URL or PGHOST ...)"
            )
    url = values.get("database_url") or ""
    if (
        postgres
        and values.get("pgsslmode") in ("verify-ca", "verify-full")
        and ("sslrootcert=" not in url)
    ):
        home = environ.get("HOME")
        default_ca = Path(home, ".postgresql", "root.crt") if home else None
        if not values.get("pgsslrootcert") and not (default_ca and default_ca.is_file()):
            problems.append(
                f"PGSSLMODE={values['pgsslmode']} needs the CA certificates to check the server "
                "against: set PGSSLROOTCERT (the image ships /opt/rds-ca/global-bundle.pem)"
            )
    return problems


def _redis_problems(values: dict[str, Any]) -> list[str]:
    """REDIS_* parts that would be ignored or refused: named now, not a silent lack of cache."""
    if values.get("redis_url"):
        return []  # REDIS_URL wins; the parts may be there for another deployment
    given = [name for name in ("redis_username", "redis_password") if values.get(name)]
    if given and not values.get("redis_host"):
        names = " and ".join(name.upper() for name in given)
        verb = "is" if len(given) == 1 else "are"
        return [f"{names} {verb} set but neither REDIS_HOST nor REDIS_URL is: set REDIS_HOST"]
    if values.get("redis_username") and not values.get("redis_password"):
        return ["REDIS_USERNAME is set but REDIS_PASSWORD is not: an ACL user logs in with both"]
    return []


def _auth_problems(values: dict[str, Any]) -> list[str]:
    if values.get("auth_issuer"):
        if values.get("auth_disabled"):
            return ["AUTH_DISABLED=true and AUTH_ISSUER are both set: set one"]
        if not values.get("auth_audience"):
            return [
                "AUTH_ISSUER is set but AUTH_AUDIENCE is not: name the client id(s) or audience "
                "the tokens must be for"
            ]
    return []


# The dataclass and the declarations must stay in step.
assert {f.name for f in fields(Settings)} == {v.env.lower() for v in VARIABLES}


def settings_or_exit(
    environ: Mapping[str, str] | None = None, *, serving: bool = False
) -> Settings:
    """Settings from the environment, or one line per bad value on stderr and exit status 2.
    ``serving``: also refuse what could not serve requests (``Settings.serving_problems``)."""
    try:
        settings = Settings.from_env(environ)
        if serving and settings.serving_problems():
            raise ConfigError(settings.serving_problems())
        return settings
    except ConfigError as error:
        for problem in error.problems:
            print(f"api-cars: configuration error: {problem}", file=sys.stderr)
        raise SystemExit(2) from None
