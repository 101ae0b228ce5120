"""Who the function is to the API: the identity stack's machine client, its secret read with
DescribeUserPoolClient (moto's Cognito), a client-credentials token from the token endpoint, and
no token when the stack has no issuer (a service with AuthDisabled=true)."""

from __future__ import annotations

import base64
import json
import secrets
import tempfile
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import psycopg
import pytest

from lambdas import bulk_import
from tests.auth_issuer import Issuer
from tests.imports.conftest import PG_ADMIN_URL, REGION, Api, cars_csv


class TokenEndpoint:
    """The pool's OAuth 2.0 token endpoint as the identity stack's TokenUrl serves it: HTTP
    Basic client id and secret, grant_type=client_credentials, an access token from the issuer."""

    def __init__(self, issuer: Issuer, client_id: str, secret: str):
        self.requests: list[dict] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])))
                basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
                endpoint.requests.append({k.decode(): v[0].decode() for k, v in form.items()})
                ok = self.headers.get("Authorization") == f"Basic {basic}"
                ok = ok and form.get(b"grant_type") == [b"client_credentials"]
                body = (
                    {"access_token": issuer.token(), "expires_in": 3600, "token_type": "Bearer"}
                    if ok
                    else {"error": "invalid_client"}
                )
                data = json.dumps(body).encode()
                self.send_response(200 if ok else 400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/oauth2/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def protected_api():
    """The API with writes protected by the test issuer."""
    issuer = Issuer().start()
    name = f"api_cars_import_auth_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    api = Api(
        f"postgresql://postgres@127.0.0.1:5432/{name}",
        Path(tempfile.mkdtemp()) / "api.log",
        auth=issuer.env(),
    )
    try:
        yield api, issuer
    finally:
        api.stop()
        issuer.stop()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_function_writes_with_the_machine_clients_token(aws, protected_api):
    api, issuer = protected_api
    cognito = boto3.client("cognito-idp", region_name=REGION)
    pool = cognito.create_user_pool(PoolName="api-cars-identity-machines")["UserPool"]["Id"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="machine", GenerateSecret=True
    )["UserPoolClient"]
    endpoint = TokenEndpoint(issuer, client["ClientId"], client["ClientSecret"])
    make = f"Tok{secrets.token_hex(4)}"
    aws.drop("imports/with-token.csv", cars_csv(5, make))
    env = {
        "API_URL": api.url,
        "USER_POOL_ID": pool,
        "CLIENT_ID": client["ClientId"],
        "TOKEN_URL": endpoint.url,
        "WRITE_SCOPE": "api-cars/cars:write",
    }
    try:
        answer = bulk_import.handler(
            {"Records": aws.messages()}, None, s3=aws.s3, api=bulk_import.Api(env)
        )
    finally:
        endpoint.stop()
    assert answer == {"batchItemFailures": []}
    assert aws.report("imports/with-token.csv")["created"] == 5
    assert api.count(make) == 5
    assert endpoint.requests == [
        {"grant_type": "client_credentials", "scope": "api-cars/cars:write"}
    ]  # one token for the whole file


def test_without_an_issuer_no_token_is_sent_and_a_protected_api_fails_the_message(
    aws, protected_api
):
    api, _ = protected_api
    aws.drop("imports/no-token.csv", cars_csv(2, f"NoTok{secrets.token_hex(4)}"))
    records = aws.messages()
    answer = bulk_import.handler(
        {"Records": records}, None, s3=aws.s3, api=bulk_import.Api({"API_URL": api.url})
    )
    report = aws.report("imports/no-token.csv")
    assert answer == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
    assert report["status"] == "failed" and "answered 401" in report["error"]
