"""Sample data: `python -m api.seed` loads a few hundred realistic cars.

The cars are generated from a seeded RNG, so every run produces the same cars with the same VINs;
cars whose VIN is already stored are skipped, so running it twice adds nothing the second time.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from api.cache import CarCache
from api.cars import store
from api.cars.model import validate_car
from api.config import Settings, settings_or_exit
from api.database import DatabaseUnavailable, UniqueViolation, create_database
from api.migrations import MigrationError, apply_migrations, describe

DEFAULT_COUNT = 300
DEFAULT_SEED = 20260
# Fixed rather than today's year, so that the same seed gives the same cars next year too.
REFERENCE_YEAR = 2025


@dataclass(frozen=True)
class Model:
    make: str
    name: str
    first_year: int
    last_year: int
    new_price: int  # list price when new, in the currency of the price field


# World manufacturer identifiers: the first three VIN characters of a make's cars.
WMI = {
    "Toyota": "JTD",
    "Honda": "1HG",
    "Ford": "1FA",
    "Chevrolet": "1G1",
    "BMW": "WBA",
    "Mercedes-Benz": "WDD",
    "Volkswagen": "WVW",
    "Audi": "WAU",
    "Nissan": "1N4",
    "Hyundai": "KMH",
    "Kia": "KNA",
    "Subaru": "JF1",
    "Mazda": "JM1",
    "Tesla": "5YJ",
    "Volvo": "YV1",
    "Porsche": "WP0",
    "Skoda": "TMB",
    "Renault": "VF1",
    "Peugeot": "VF3",
    "Fiat": "ZFA",
}

MODELS = (
    Model("Toyota", "Corolla", 1966, REFERENCE_YEAR, 24000),
    Model("Toyota", "Camry", 1982, REFERENCE_YEAR, 29000),
    Model("Toyota", "RAV4", 1994, REFERENCE_YEAR, 33000),
    Model("Toyota", "Prius", 1997, REFERENCE_YEAR, 30000),
    Model("Toyota", "Yaris", 1999, REFERENCE_YEAR, 19000),
    Model("Honda", "Civic", 1972, REFERENCE_YEAR, 25000),
    Model("Honda", "Accord", 1976, REFERENCE_YEAR, 30000),
    Model("Honda", "CR-V", 1995, REFERENCE_YEAR, 32000),
    Model("Honda", "Jazz", 2001, REFERENCE_YEAR, 20000),
    Model("Ford", "Fiesta", 1976, 2023, 18000),
    Model("Ford", "Focus", 1998, 2025, 23000),
    Model("Ford", "Mustang", 1964, REFERENCE_YEAR, 38000),
    Model("Ford", "F-150", 1975, REFERENCE_YEAR, 45000),
    Model("Ford", "Explorer", 1990, REFERENCE_YEAR, 40000),
    Model("Chevrolet", "Malibu", 1997, 2025, 26000),
    Model("Chevrolet", "Camaro", 1993, 2024, 35000),
    Model("Chevrolet", "Silverado", 1999, REFERENCE_YEAR, 42000),
    Model("Chevrolet", "Corvette", 1984, REFERENCE_YEAR, 68000),
    Model("BMW", "3 Series", 1990, REFERENCE_YEAR, 45000),
    Model("BMW", "5 Series", 1995, REFERENCE_YEAR, 58000),
    Model("BMW", "X3", 2003, REFERENCE_YEAR, 50000),
    Model("BMW", "X5", 1999, REFERENCE_YEAR, 68000),
    Model("Mercedes-Benz", "C-Class", 1993, REFERENCE_YEAR, 47000),
    Model("Mercedes-Benz", "E-Class", 1993, REFERENCE_YEAR, 60000),
    Model("Mercedes-Benz", "GLC", 2015, REFERENCE_YEAR, 52000),
    Model("Volkswagen", "Golf", 1974, REFERENCE_YEAR, 28000),
    Model("Volkswagen", "Polo", 1975, REFERENCE_YEAR, 20000),
    Model("Volkswagen", "Passat", 1973, REFERENCE_YEAR, 35000),
    Model("Volkswagen", "Tiguan", 2007, REFERENCE_YEAR, 36000),
    Model("Volkswagen", "ID.4", 2020, REFERENCE_YEAR, 42000),
    Model("Audi", "A3", 1996, REFERENCE_YEAR, 34000),
    Model("Audi", "A4", 1994, REFERENCE_YEAR, 43000),
    Model("Audi", "Q5", 2008, REFERENCE_YEAR, 50000),
    Model("Nissan", "Altima", 1992, REFERENCE_YEAR, 27000),
    Model("Nissan", "Qashqai", 2006, REFERENCE_YEAR, 29000),
    Model("Nissan", "Leaf", 2010, REFERENCE_YEAR, 32000),
    Model("Hyundai", "Elantra", 1990, REFERENCE_YEAR, 22000),
    Model("Hyundai", "Tucson", 2004, REFERENCE_YEAR, 30000),
    Model("Hyundai", "Ioniq 5", 2021, REFERENCE_YEAR, 45000),
    Model("Kia", "Sportage", 1993, REFERENCE_YEAR, 29000),
    Model("Kia", "Niro", 2016, REFERENCE_YEAR, 30000),
    Model("Subaru", "Outback", 1994, REFERENCE_YEAR, 32000),
    Model("Subaru", "Forester", 1997, REFERENCE_YEAR, 31000),
    Model("Mazda", "MX-5", 1989, REFERENCE_YEAR, 31000),
    Model("Mazda", "Mazda3", 2003, REFERENCE_YEAR, 24000),
    Model("Mazda", "CX-5", 2012, REFERENCE_YEAR, 31000),
    Model("Tesla", "Model S", 2012, REFERENCE_YEAR, 80000),
    Model("Tesla", "Model 3", 2017, REFERENCE_YEAR, 42000),
    Model("Tesla", "Model Y", 2020, REFERENCE_YEAR, 46000),
    Model("Volvo", "V70", 1996, 2016, 40000),
    Model("Volvo", "XC60", 2008, REFERENCE_YEAR, 50000),
    Model("Volvo", "XC90", 2002, REFERENCE_YEAR, 62000),
    Model("Porsche", "911", 1964, REFERENCE_YEAR, 115000),
    Model("Porsche", "Cayenne", 2002, REFERENCE_YEAR, 85000),
    Model("Skoda", "Octavia", 1996, REFERENCE_YEAR, 27000),
    Model("Skoda", "Fabia", 1999, REFERENCE_YEAR, 18000),
    Model("Renault", "Clio", 1990, REFERENCE_YEAR, 19000),
    Model("Renault", "Megane", 1995, REFERENCE_YEAR, 25000),
    Model("Peugeot", "208", 2012, REFERENCE_YEAR, 20000),
    Model("Peugeot", "3008", 2009, REFERENCE_YEAR, 33000),
    Model("Fiat", "500", 2007, REFERENCE_YEAR, 17000),
    Model("Fiat", "Panda", 1980, REFERENCE_YEAR, 15000),
)

# Roughly the colour mix of cars on European and American roads; None: colour not recorded.
COLOURS = (
    ("white", 24),
    ("black", 20),
    ("grey", 17),
    ("silver", 10),
    ("blue", 10),
    ("red", 8),
    ("green", 2),
    ("brown", 2),
    ("beige", 1),
    ("yellow", 1),
    ("orange", 1),
    (None, 4),
)

VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # no I, O or Q
_TRANSLITERATION = {
    **{str(digit): digit for digit in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
# Model-year codes (VIN position 10) repeat every 30 years from 1980: no I, O, Q, U, Z or 0.
_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"


def vin_check_digit(vin: str) -> str:
    """The check digit (position 9) of a 17-character VIN, per 49 CFR 565.15."""
    total = sum(_TRANSLITERATION[char] * weight for char, weight in zip(vin, _WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def make_vin(rng: random.Random, make: str, year: int, serial: int) -> str:
    """A VIN with the make's WMI, the model year code and a valid check digit.

    The serial number fills the last six positions, so distinct serials give distinct VINs.
    """
    descriptor = "".join(rng.choice(VIN_ALPHABET) for _ in range(5))
    plant = rng.choice(VIN_ALPHABET)
    year_code = _YEAR_CODES[(year - 1980) % 30]
    draft = f"{WMI[make]}{descriptor}0{year_code}{plant}{serial:06d}"
    return draft[:8] + vin_check_digit(draft) + draft[9:]


def _year(rng: random.Random, model: Model) -> int:
    # Most cars for sale are a few years old; a few are much older.
    age = min(int(rng.expovariate(1 / 6)), 40)
    return max(model.first_year, min(model.last_year, REFERENCE_YEAR - age))


def _mileage_km(rng: random.Random, age: int) -> int:
    if age == 0:
        return rng.randrange(0, 5000, 10)
    yearly = rng.gauss(13000, 3500)
    return max(500, int(age * max(3000.0, yearly)) // 100 * 100)


def _price(rng: random.Random, model: Model, age: int, mileage_km: int) -> Decimal:
    # Steep loss of value in the first five years, slower after.
    value = model.new_price * 0.85 ** min(age, 5) * 0.93 ** max(age - 5, 0)
    value *= max(0.5, 1 - mileage_km / 800_000) * rng.uniform(0.9, 1.1)
    # Dealers price just below a round number: ...450 or ...950.
    rounded = max(950, int(value) // 500 * 500 - 50)
    return Decimal(rounded).quantize(Decimal("0.01"))


def generate_cars(count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> Iterator[dict]:
    """`count` cars as request bodies for POST /v1/cars, the same ones for the same seed."""
    rng = random.Random(seed)  # noqa: S311 - sample data, reproducible on purpose
    colours, weights = zip(*COLOURS, strict=True)
    for serial in range(1, count + 1):
        model = rng.choice(MODELS)
        year = _year(rng, model)
        age = REFERENCE_YEAR - year
        mileage_km = _mileage_km(rng, age)
        car = {
            "make": model.make,
            "model": model.name,
            "year": year,
            "color": rng.choices(colours, weights)[0],
            "price": str(_price(rng, model, age, mileage_km)),
            "mileage_km": mileage_km,
            "vin": make_vin(rng, model.make, year, serial),
        }
        yield car


async def load(settings: Settings, cars: Iterable[dict]) -> tuple[int, int]:
    """Insert the cars through the data layer; return (created, skipped as already present)."""
    db = create_database(settings)
    await db.open()
    created = skipped = 0
    try:
        for car in cars:
            # The API's own rules: sample data is exactly what a client could have POSTed.
            fields = validate_car(car, partial=False)
            try:
                await store.create_car(db, fields=fields)
            except UniqueViolation:
                skipped += 1
            else:
                created += 1
    finally:
        await db.close()
    if created and settings.redis_address is not None:
        # Cached list pages would not show the new cars until they expire.
        cache = CarCache(settings)
        try:
            await cache.lists_changed()
        finally:
            await cache.close()
    return created, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.seed", description=__doc__)
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="cars to generate")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="RNG seed")
    args = parser.parse_args(argv)
    if not 1 <= args.count <= 999_999:
        parser.error("--count must be from 1 to 999999")
    settings = settings_or_exit()
    where = describe(settings)
    try:
        apply_migrations(settings)
        created, skipped = asyncio.run(load(settings, generate_cars(args.count, args.seed)))
    except (MigrationError, DatabaseUnavailable, OSError) as error:
        reason = " ".join(str(error).split())  # drivers' messages span lines
        print(f"api-cars: seeding {where} failed: {reason}", file=sys.stderr)
        return 1
    print(f"api-cars: seeded {where}: {created} cars added, {skipped} already present")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
