"""PostgreSQL goes away: the API says so with 503 problems, then recovers by itself."""

import collections
import json
import threading

import httpx
import pytest

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def api(start_api, new_database, car_body):
    api = start_api(DATABASE_URL=new_database(), DATABASE_TIMEOUT_SECONDS="2")
    with api.client() as client:
        api.car = client.post("/v1/cars", json=car_body).json()
    return api


@pytest.fixture
def database_down(postgres_server, api, wait_until):
    """PostgreSQL stopped for the test; started again after it, and the API ready again."""
    postgres_server.stop()
    try:
        yield
    finally:
        postgres_server.start()
    with api.client() as client:
        wait_until(lambda: client.get("/ready").status_code == 200, 30, "/ready to answer 200")


def assert_503_problem(response):
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["status"] == 503
    assert problem["detail"]


def test_ready_answers_503_problem_while_the_database_is_down(api, database_down):
    with api.client() as client:
        assert_503_problem(client.get("/ready"))


def test_car_requests_answer_503_problem_while_the_database_is_down(api, database_down, car_body):
    car_path = f"/v1/cars/{api.car['id']}"
    with api.client() as client:
        assert_503_problem(client.get("/v1/cars"))
        assert_503_problem(client.get(car_path))
        assert_503_problem(client.post("/v1/cars", json=car_body))
        assert_503_problem(client.patch(car_path, json={"mileage_km": 1}))
        assert_503_problem(client.delete(car_path))


def test_health_stays_200_while_the_database_is_down(api, database_down):
    with api.client() as client:
        assert client.get("/health").status_code == 200


def _log(api, after: int) -> list[dict]:
    """The JSON lines the API wrote after its first ``after`` log lines."""
    return [json.loads(line) for line in api.log_lines()[after:] if line.startswith("{")]


def _database_log(api, after: int) -> list[dict]:
    return [e for e in _log(api, after) if e.get("logger") == "api.database"]


def test_an_outage_is_logged_when_it_starts_and_when_it_ends_not_per_request(
    api, postgres_server, wait_until
):
    before = len(api.log_lines())
    postgres_server.stop()
    with api.client() as client:
        for _ in range(30):
            assert client.get("/v1/cars").status_code == 503
        postgres_server.start()
        wait_until(lambda: client.get("/ready").status_code == 200, 30, "/ready to answer 200")
        wait_until(lambda: len(_database_log(api, before)) >= 2, 10, "the end of the outage logged")

    start, end = _database_log(api, before)
    assert (start["level"], start["message"].split(":")[0]) == ("WARNING", "database unavailable")
    assert start["error"]
    assert (end["level"], end["message"]) == ("INFO", "database available again")
    assert end["failures"] >= 30
    assert [e for e in _log(api, before) if e["level"] != "INFO"] == [start]


def test_requests_succeed_again_once_the_database_is_back(
    api, postgres_server, wait_until, car_body
):
    postgres_server.stop()
    with api.client() as client:
        assert client.get("/ready").status_code == 503
        postgres_server.start()

        wait_until(lambda: client.get("/ready").status_code == 200, 30, "/ready to answer 200")
        assert client.get(f"/v1/cars/{api.car['id']}").json() == api.car
        assert client.post("/v1/cars", json=car_body).status_code == 201
        assert client.get("/v1/cars").status_code == 200


# Bounded load: this many clients, each sending at most this many requests.
LOAD_CLIENTS = 16
LOAD_REQUESTS_PER_CLIENT = 400
RESTARTS = 3


class Load:
    """Concurrent clients cycling GET, list and POST until stopped (or out of requests)."""

    def __init__(self, api, car_body):
        self.api, self.car_body = api, car_body
        self.statuses: collections.Counter[int] = collections.Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(LOAD_CLIENTS)]

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def answered(self, status: int) -> int:
        with self._lock:
            return self.statuses[status]

    def _run(self) -> None:
        car_path = f"/v1/cars/{self.api.car['id']}"
        with self.api.client(timeout=10) as client:
            for n in range(LOAD_REQUESTS_PER_CLIENT):
                if self._stop.is_set():
                    return
                try:
                    if n % 3 == 0:
                        response = client.post("/v1/cars", json=self.car_body)
                    elif n % 3 == 1:
                        response = client.get(car_path)
                    else:
                        response = client.get("/v1/cars?limit=5")
                except httpx.TransportError:
                    continue  # the API may drop a connection; it must never answer 500
                with self._lock:
                    self.statuses[response.status_code] += 1


def test_a_fast_shutdown_under_load_answers_503_never_500(
    api, postgres_server, wait_until, car_body
):
    with Load(api, car_body) as load:
        for _ in range(RESTARTS):
            served = load.answered(200) + 20
            wait_until(lambda n=served: load.answered(200) > n, 30, "requests served")
            unavailable = load.answered(503)
            postgres_server.stop("fast")
            try:
                wait_until(
                    lambda n=unavailable: load.answered(503) > n, 30, "a 503 during the outage"
                )
            finally:
                postgres_server.start()
    assert load.statuses[500] == 0, load.statuses
    assert set(load.statuses) <= {200, 201, 503}, load.statuses
    assert "unhandled exception" not in api.log()
