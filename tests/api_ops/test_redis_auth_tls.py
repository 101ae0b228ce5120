"""REDIS_URL with credentials, a database number and TLS, against a real redis-server of our own.

The server requires a password (the default user) and knows an ACL user; a second port speaks TLS
only, with a certificate signed by a throwaway CA made here with openssl. The API trusts that CA
the way any OpenSSL client does, through SSL_CERT_FILE (in production, ElastiCache's certificates
chain to the public CAs the image already trusts). Wrong credentials or an untrusted certificate
leave the API serving from the database, as with Redis down.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.redis_servers import make_certificates

PASSWORD = "s3cret:with@odd/chars"
QUOTED = urllib.parse.quote(PASSWORD, safe="")  # as a URL must carry it
ACL_USER, ACL_PASSWORD = "api-cars", "acl-pw"


@dataclass
class SecuredRedis:
    port: int
    tls_port: int
    ca: Path

    def client(self, db: int = 0) -> redis.Redis:
        """redis-py on the plain port, as the default user."""
        return redis.Redis(port=self.port, password=PASSWORD, db=db, socket_timeout=2)

    def accepts(self) -> bool:
        """Both ports take connections (a raw probe: redis-py backs off between retries)."""
        try:
            for port in (self.port, self.tls_port):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        return True


@pytest.fixture(scope="module")
def secured_redis(tmp_path_factory, free_port, wait_until) -> Iterator[SecuredRedis]:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificates (apt-get install openssl)")
    directory = tmp_path_factory.mktemp("redis-tls")
    certs = make_certificates(directory)
    server = SecuredRedis(port=free_port(), tls_port=free_port(), ca=certs["ca.crt"])
    proc = subprocess.Popen(
        ["redis-server", "--port", str(server.port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--requirepass", PASSWORD,
         "--user", ACL_USER, "on", f">{ACL_PASSWORD}", "~*", "&*", "+@all",
         "--tls-port", str(server.tls_port), "--tls-cert-file", str(certs["server.crt"]),
         "--tls-key-file", str(certs["server.key"]), "--tls-ca-cert-file", str(certs["ca.crt"]),
         "--tls-auth-clients", "no"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip

    def ready() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"redis-server exited: {proc.stdout.read().decode()[-2000:]}")
        return server.accepts()

    try:
        wait_until(ready, 10, f"redis-server with AUTH on port {server.port}")
        yield server
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def database(new_database) -> str:
    return new_database()


def cached_in(server: SecuredRedis, db: int, car_id: int) -> bool:
    with server.client(db) as client:
        return client.exists(f"api-cars:car:{car_id}") == 1


def create_and_read(api, car: dict) -> int:
    with api.client() as client:
        created = client.post("/v1/cars", json=car)
        assert created.status_code == 201, created.text
        path = created.headers["location"]
        assert client.get(path).status_code == 200  # a miss: read through into Redis
        return int(path.rsplit("/", 1)[1])


def test_a_password_and_a_database_number_in_the_url(start_api, database, secured_redis, car_body):
    api = start_api(
        DATABASE_URL=database, REDIS_URL=f"redis://:{QUOTED}@127.0.0.1:{secured_redis.port}/3"
    )
    car_id = create_and_read(api, car_body)
    assert cached_in(secured_redis, 3, car_id)
    assert not cached_in(secured_redis, 0, car_id)
    assert "Redis unavailable" not in api.log()


def test_an_acl_user_over_tls(start_api, database, secured_redis, car_body):
    api = start_api(
        DATABASE_URL=database,
        REDIS_URL=f"rediss://{ACL_USER}:{ACL_PASSWORD}@127.0.0.1:{secured_redis.tls_port}/5",
        SSL_CERT_FILE=str(secured_redis.ca),
    )
    car_id = create_and_read(api, car_body)
    assert cached_in(secured_redis, 5, car_id)
    assert "Redis unavailable" not in api.log()


@pytest.mark.parametrize(
    ("what", "url", "trust_ca", "error"),
    [
        ("a wrong password", "redis://:wrong@127.0.0.1:{port}/0", False, "WRONGPASS"),
        ("no password", "redis://127.0.0.1:{port}/0", False, "NOAUTH"),
        ("an untrusted certificate", "rediss://:" + "{password}@127.0.0.1:{tls_port}/0", False,
         "CERTIFICATE_VERIFY_FAILED"),
        ("plain text to the TLS port", "redis://:{password}@127.0.0.1:{tls_port}/0", True, ""),
    ],
)  # fmt: skip
def test_refused_credentials_or_certificates_serve_from_the_database(
    start_api, database, secured_redis, car_body, what, url, trust_ca, error
):
    env = {
        "DATABASE_URL": database,
        "REDIS_URL": url.format(
            port=secured_redis.port, tls_port=secured_redis.tls_port, password=QUOTED
        ),
        "REDIS_TIMEOUT_SECONDS": "0.5",
    }
    if trust_ca:
        env["SSL_CERT_FILE"] = str(secured_redis.ca)
    api = start_api(**env)
    with api.client() as client:
        created = client.post("/v1/cars", json=car_body)
        assert created.status_code == 201, created.text
        response = client.get(created.headers["location"])
        assert response.status_code == 200 and response.json()["make"] == car_body["make"]
    warnings = [line for line in api.log_lines() if "Redis unavailable" in line]
    assert len(warnings) == 1, what
    assert error in warnings[0], warnings[0]


def test_the_test_ca_is_what_makes_the_certificate_trusted(secured_redis):
    # The refusal above is the certificate check at work, not a broken TLS port.
    with redis.Redis(
        port=secured_redis.tls_port, password=PASSWORD, ssl=True,
        ssl_ca_certs=str(secured_redis.ca), socket_timeout=2,
    ) as client:  # fmt: skip
        assert client.ping() is True
