"""Listing: filters, stable sort orders and keyset pagination without gaps or repeats."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from carkit import a_car, create, unique_make


async def all_pages(client, query: str, limit: int) -> list[dict]:
    cars, cursor = [], None
    while True:
        url = f"/v1/cars?{query}&limit={limit}" + (f"&next={cursor}" if cursor else "")
        response = await client.get(url)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        cars += page["items"]
        cursor = page["next"]
        if cursor is None:
            return cars


async def test_default_page_is_20_cars_with_a_next_cursor(client):
    make = unique_make()
    for _ in range(21):
        await create(client, make=make)
    page = (await client.get(f"/v1/cars?make={make}")).json()
    assert len(page["items"]) == 20
    assert isinstance(page["next"], str)


async def test_last_page_has_no_next(client):
    make = unique_make()
    await create(client, make=make)
    page = (await client.get(f"/v1/cars?make={make}&limit=5")).json()
    assert len(page["items"]) == 1
    assert page["next"] is None


async def test_filters_combine(client):
    make = unique_make()
    wanted = []
    for year, price, model in [
        (2010, "5000.00", "A"),
        (2015, "9000.00", "A"),
        (2015, "15000.00", "A"),
        (2020, "9500.00", "A"),
        (2015, "9000.00", "B"),
    ]:
        car = (await create(client, make=make, model=model, year=year, price=price)).json()
        if model == "A" and 2012 <= year <= 2018 and Decimal(price) <= 10000:
            wanted.append(car["id"])
    query = f"make={make}&model=A&year_min=2012&year_max=2018&price_min=8999.99&price_max=10000"
    assert [car["id"] for car in await all_pages(client, query, 10)] == wanted


async def test_make_filter_is_exact_after_trimming(client):
    make = unique_make()
    await create(client, make=make)
    await create(client, make=make + "x")
    assert len(await all_pages(client, f"make=%20{make}%20", 10)) == 1


async def test_empty_ranges_give_an_empty_page(client):
    make = unique_make()
    await create(client, make=make, year=2015)
    page = (await client.get(f"/v1/cars?make={make}&year_min=2016&year_max=2014")).json()
    assert page == {"items": [], "next": None}


def sort_key(sort: str):
    column = sort.lstrip("-")

    def key(car):
        value = Decimal(car["price"]) if column == "price" else car[column]
        return (value, car["id"])

    return key


@pytest.mark.parametrize(
    "sort", ["id", "-id", "price", "-price", "year", "-year", "created_at", "-created_at"]
)
async def test_sort_orders_break_ties_by_id(client, sort):
    make = unique_make()
    # Repeated prices and years: the order among equals must still be fixed (by id).
    for price, year in itertools.product(["10.00", "9.50", "100.00"], [2001, 1999]):
        await create(client, make=make, price=price, year=year)
    cars = await all_pages(client, f"make={make}&sort={sort}", 4)
    assert len(cars) == 6
    expected = sorted(cars, key=sort_key(sort), reverse=sort.startswith("-"))
    assert [c["id"] for c in cars] == [c["id"] for c in expected]


@pytest.mark.parametrize("sort", ["price", "-year", "created_at", "-id"])
async def test_pagination_while_inserting_has_no_gaps_or_repeats(client, sort):
    make = unique_make()
    prices = itertools.cycle(["1.00", "500.00", "99999.00", "250.50"])
    years = itertools.cycle([1990, 2024, 2005])
    original = set()
    for _ in range(17):
        car = (await create(client, make=make, price=next(prices), year=next(years))).json()
        original.add(car["id"])
    seen: list[int] = []
    cursor = None
    while True:
        url = f"/v1/cars?make={make}&sort={sort}&limit=4" + (f"&next={cursor}" if cursor else "")
        page = (await client.get(url)).json()
        seen += [car["id"] for car in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
        # Another client adds cars between our pages, before and after our position.
        for _ in range(2):
            await create(client, make=make, price=next(prices), year=next(years))
    assert len(seen) == len(set(seen)), "a car was listed twice"
    assert original <= set(seen), "a car that existed throughout was skipped"


async def test_list_items_match_single_reads(client):
    make = unique_make()
    created = (await create(client, make=make)).json()
    page = (await client.get(f"/v1/cars?make={make}")).json()
    assert page["items"] == [created]
    assert (await client.get(f"/v1/cars/{created['id']}")).json() == created


async def test_price_with_trailing_zero_cents_lists_as_two_decimals(client):
    make = unique_make()
    await client.post("/v1/cars", json=a_car(make=make, price="7"))
    page = (await client.get(f"/v1/cars?make={make}")).json()
    assert page["items"][0]["price"] == "7.00"


async def first_page_cursor(client, query: str) -> str:
    page = (await client.get(f"/v1/cars?{query}&limit=1")).json()
    assert page["next"], page
    return page["next"]


async def test_a_cursor_used_with_other_filters_is_400_naming_the_mismatch(client):
    make = unique_make()
    for year in (2001, 2002, 2003):
        await create(client, make=make, year=year)
    cursor = await first_page_cursor(client, f"make={make}&year_min=2000")
    response = await client.get(f"/v1/cars?make={make}&year_min=2002&limit=1&next={cursor}")
    assert response.status_code == 400
    problem = response.json()
    assert problem["detail"].startswith("The 'next' cursor was issued for other filters")
    assert problem["errors"] == [
        {"in": "query", "field": "next", "detail": "was issued for other filters"}
    ]


async def test_a_cursor_used_without_its_filters_is_400(client):
    make = unique_make()
    for _ in range(2):
        await create(client, make=make)
    cursor = await first_page_cursor(client, f"make={make}")
    assert (await client.get(f"/v1/cars?limit=1&next={cursor}")).status_code == 400


async def test_a_cursor_used_with_another_sort_names_both_sorts(client):
    make = unique_make()
    for _ in range(2):
        await create(client, make=make)
    cursor = await first_page_cursor(client, f"make={make}&sort=-price")
    response = await client.get(f"/v1/cars?make={make}&sort=year&next={cursor}")
    assert response.status_code == 400
    assert "issued for sort=-price, not sort=year" in response.json()["detail"]


async def test_the_same_filters_written_differently_keep_the_cursor_valid(client):
    make = unique_make()
    for _ in range(3):
        await create(client, make=make, price="10.00")
    cursor = await first_page_cursor(client, f"make={make}&price_min=10")
    response = await client.get(f"/v1/cars?make=%20{make}%20&price_min=10.00&limit=5&next={cursor}")
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == 2


async def test_an_empty_next_is_the_first_page(client):
    make = unique_make()
    await create(client, make=make)
    first = (await client.get(f"/v1/cars?make={make}")).json()
    assert (await client.get(f"/v1/cars?make={make}&next=")).json() == first
