"""Headers every response carries, however the API is started (production or `make dev`)."""

import pytest

# What `make dev` runs without Docker: the Sanic command line in debug mode, where Sanic by
# default skips the start-up step that drops its HTTP/3 `alt-svc` placeholder.
SANIC_DEBUG = ("-m", "sanic", "api.app:create_app", "--factory", "--port", "{port}", "--debug")


@pytest.fixture(scope="module", params=["python -m api", "sanic --debug"])
def api(request, start_api, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("headers") / "cars.sqlite3")
    if request.param == "python -m api":
        return start_api(SQLITE_PATH=path)
    return start_api(command=SANIC_DEBUG, SQLITE_PATH=path)


@pytest.mark.parametrize("path", ["/health", "/v1/cars", "/nowhere"])
def test_no_response_carries_an_alt_svc_header(api, path):
    with api.client() as client:
        response = client.get(path)
    assert response.status_code in (200, 404)
    assert "alt-svc" not in response.headers
