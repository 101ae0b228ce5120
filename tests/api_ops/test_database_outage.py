"""PostgreSQL goes away: the API says so with 503 problems, then recovers by itself."""

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
