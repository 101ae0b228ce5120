"""`python -m api.seed`: realistic, reproducible sample cars, loaded once however often it runs."""

import asyncio
import re
from collections import Counter
from decimal import Decimal

import pytest

from api import seed
from api.cars import store
from api.cars.model import validate_car
from api.config import Settings
from api.database import create_database


def test_the_same_seed_gives_the_same_cars():
    assert list(seed.generate_cars(50, seed=7)) == list(seed.generate_cars(50, seed=7))
    assert list(seed.generate_cars(50, seed=7)) != list(seed.generate_cars(50, seed=8))


def test_a_few_hundred_cars_by_default():
    assert len(list(seed.generate_cars())) == seed.DEFAULT_COUNT >= 200


def test_check_digit_matches_the_published_example():
    # The worked example of the VIN check digit (49 CFR 565): 1M8GDM9A_KP042788 -> X.
    assert seed.vin_check_digit("1M8GDM9AXKP042788") == "X"
    assert seed.vin_check_digit("11111111111111111") == "1"


def test_every_vin_is_unique_valid_and_names_the_make_and_model_year():
    cars = list(seed.generate_cars())
    vins = [car["vin"] for car in cars]

    assert len(set(vins)) == len(vins)
    for car in cars:
        vin = car["vin"]
        assert re.fullmatch(r"[A-HJ-NPR-Z0-9]{17}", vin)
        assert vin[8] == seed.vin_check_digit(vin)
        assert vin[:3] == seed.WMI[car["make"]]
        assert vin[9] == "ABCDEFGHJKLMNPRSTVWXY123456789"[(car["year"] - 1980) % 30]


def test_cars_are_real_models_built_in_their_year_at_plausible_prices():
    models = {(m.make, m.name): m for m in seed.MODELS}
    for car in seed.generate_cars():
        model = models[(car["make"], car["model"])]
        assert model.first_year <= car["year"] <= model.last_year
        assert 500 <= Decimal(car["price"]) <= model.new_price * Decimal("1.1")
        assert Decimal(car["price"]).as_tuple().exponent == -2
        assert 0 <= car["mileage_km"] <= 1_000_000


def test_the_sample_mixes_makes_colours_and_years():
    cars = list(seed.generate_cars())

    assert len({car["make"] for car in cars}) >= 15
    assert len({car["color"] for car in cars}) >= 8
    assert len({car["year"] for car in cars}) >= 15
    assert Counter(car["year"] for car in cars).most_common(1)[0][1] < len(cars) / 4


def test_every_car_passes_the_api_validation():
    for car in seed.generate_cars():
        validate_car(car, partial=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def seed_env(request, tmp_path, monkeypatch):
    """Environment of a fresh, empty database of each kind."""
    for name in ("DATABASE_URL", "DATABASE_READ_URL", "REDIS_URL", "REDIS_HOST"):
        monkeypatch.delenv(name, raising=False)
    if request.param == "sqlite":
        monkeypatch.setenv("SQLITE_PATH", str(tmp_path / "seed.sqlite3"))
    else:
        monkeypatch.setenv("DATABASE_URL", request.getfixturevalue("new_database")())
    return request.param


def _stored_vins() -> list[str]:
    async def read() -> list[str]:
        db = create_database(Settings.from_env())
        await db.open()
        try:
            cars = await store.list_cars(db, sort="id", limit=1000)
        finally:
            await db.close()
        return [car["vin"] for car in cars]

    return asyncio.run(read())


def test_seed_loads_the_generated_cars(seed_env, capsys):
    assert seed.main(["--count", "40"]) == 0

    assert _stored_vins() == [car["vin"] for car in seed.generate_cars(40)]
    assert "40 cars added, 0 already present" in capsys.readouterr().out


def test_seeding_again_adds_nothing(seed_env, capsys):
    seed.main(["--count", "40"])
    capsys.readouterr()

    assert seed.main(["--count", "60"]) == 0

    assert len(_stored_vins()) == 60
    assert "20 cars added, 40 already present" in capsys.readouterr().out


def test_an_unreachable_database_is_one_line_and_exit_status_1(monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nowhere")

    assert seed.main(["--count", "5"]) == 1

    err = capsys.readouterr().err
    assert err.startswith("api-cars: seeding PostgreSQL 127.0.0.1:1/nowhere failed:")
    assert err.count("\n") == 1


def test_seeding_new_cars_starts_a_new_list_generation_in_redis(
    redis_server, tmp_path, monkeypatch
):
    # Cached list pages would otherwise hide the seeded cars until their TTL.
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("SQLITE_PATH", str(tmp_path / "seed.sqlite3"))
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    key = "api-cars:lists:generation"
    with redis_server.client() as redis:
        before = int(redis.get(key) or 0)

        seed.main(["--count", "10"])
        after_first = int(redis.get(key) or 0)
        seed.main(["--count", "10"])  # nothing new: the cached pages are still right

        assert after_first > before
        assert int(redis.get(key) or 0) == after_first
