"""Text fields are trimmed first, then checked; blank (even invisibly) and control characters are
refused; the schema's pattern says exactly what the API accepts."""

from __future__ import annotations

import re
import sys

import pytest
from carkit import a_car, create

from api.cars import model


def test_trimmed_whitespace_is_exactly_unicode_whitespace():
    everything = (chr(code) for code in range(sys.maxunicode + 1))
    assert set(model.WHITESPACE) == {c for c in everything if c.isspace()}


async def test_a_64_character_make_with_spaces_around_it_is_stored_trimmed(client):
    make = "M" * model.TEXT_MAX_LENGTH
    response = await client.post("/v1/cars", json=a_car(make=f"  {make}\u00a0"))
    assert response.status_code == 201, response.text
    assert response.json()["make"] == make


async def test_a_65_character_make_is_refused_however_it_is_padded(client):
    response = await client.post("/v1/cars", json=a_car(make=" " + "M" * 65 + " "))
    assert response.status_code == 422
    assert response.json()["errors"][0]["detail"].startswith("must be at most 64 characters")


@pytest.mark.parametrize(
    "blank", ["\u00a0", "\u200b", "\ufeff", " \u2060 ", "\u3000\u200d"], ids=ascii
)
async def test_text_of_only_invisible_characters_is_blank(client, blank):
    response = await client.post("/v1/cars", json=a_car(make=blank, color=blank))
    assert response.status_code == 422
    assert {(e["field"], e["detail"].split(" (")[0]) for e in response.json()["errors"]} == {
        ("make", "must not be blank"),
        ("color", "must not be blank"),
    }


@pytest.mark.parametrize("text", ["Ford\x07", "Fo\x1brd", "Ford\u0085GT", "Ford\x7f"], ids=ascii)
async def test_control_characters_inside_text_are_refused(client, text):
    response = await client.post("/v1/cars", json=a_car(model=text))
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "model"
    assert error["detail"].startswith("must not contain control characters")


async def test_invisible_characters_around_text_are_trimmed_and_inside_kept(client):
    car = (await create(client, model="\u200bGolf\u200dGTI\ufeff")).json()
    assert car["model"] == "Golf\u200dGTI"


SAMPLES = [
    "Ford", " Ford ", "F", "a b", "\tX\n", "M" * 64, " " + "M" * 64 + " ", "M" * 65, "", " ",
    "\u00a0", "\u200b", "a\x00", "a\x01b", "\x1cFord\x1f", "Fo\u0085rd", "\u200bA\u200b",
    "\u3000\u3000", "é" * 64, "a\u200bb",
]  # fmt: skip


@pytest.mark.parametrize("text", SAMPLES, ids=ascii)
def test_the_schema_pattern_accepts_what_the_api_accepts(text):
    pattern = re.compile(model.text_pattern(model.TEXT_MAX_LENGTH))
    try:
        model._make(text)
        accepted = True
    except ValueError:
        accepted = False
    assert bool(pattern.search(text)) is accepted
