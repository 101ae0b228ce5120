"""Live traffic through the load balancer for the whole rehearsal, every response classified.

A small asyncio client rather than wrk: each write's answer must be remembered (which car, which
value, acknowledged or not) to check afterwards that no acknowledged write was lost. Each worker
owns the cars it creates, so its writes to one car are sequential and "the last acknowledged value"
is well defined. Request loops are paced and stop when told (bounded by the rehearsal's phases).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import httpx

OK = "ok"
API_503 = "api 503"  # the API's own problem (application/problem+json), e.g. database down
LB_ERROR = "lb error"  # an error the load balancer made itself (HAProxy's HTML pages)
CONNECTION = "connection"  # no HTTP answer at all: refused, reset, timed out
OTHER = "other"  # any other unexpected answer (a 4xx, a 5xx problem other than 503)
FAILURES = (API_503, LB_ERROR, CONNECTION, OTHER)
REQUEST_TIMEOUT_S = 5.0
CAR = {"make": "Rehearsal", "model": "Roll", "year": 2024, "color": "blue", "price": "10000.00"}


@dataclass
class Outcome:
    phase: str
    method: str
    kind: str
    latency_s: float
    detail: str = ""  # for a failure: path, status or exception, the problem's detail


@dataclass
class Car:
    """What the database must hold for one car a worker wrote, from the answers it got."""

    vin: str
    phase: str  # of the write that acknowledged its current expected state
    exists: bool | None = True  # None: a DELETE whose outcome is unknown
    mileage: set[int] = field(default_factory=set)  # any of these (unacknowledged PATCHes)
    acknowledged: bool = True


def classify(response: httpx.Response, expected: tuple[int, ...]) -> str:
    if response.status_code in expected:
        return OK
    problem = response.headers.get("content-type", "").startswith("application/problem+json")
    if response.status_code == 503 and problem:
        return API_503
    if response.status_code >= 500 and not problem:
        return LB_ERROR
    return OTHER


class Traffic:
    """Reads and writes from ``workers`` paced workers in a thread of its own."""

    def __init__(self, url: str, *, workers: int = 4, rate_per_worker: float = 15.0):
        self.url = url
        self.workers = workers
        self.interval_s = 1.0 / rate_per_worker
        self.phase = "start"
        self.outcomes: list[Outcome] = []
        self.cars: list[dict[int, Car]] = [{} for _ in range(workers)]
        self.unacknowledged_vins: list[str] = []
        self.read_ids: list[int] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._vins = itertools.count(1)

    def start(self, read_ids: list[int]) -> None:
        self.read_ids = read_ids
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(REQUEST_TIMEOUT_S * 3)

    async def _run(self) -> None:
        limits = httpx.Limits(max_connections=self.workers, max_keepalive_connections=self.workers)
        async with httpx.AsyncClient(
            base_url=self.url, timeout=REQUEST_TIMEOUT_S, limits=limits
        ) as client:
            await asyncio.gather(*(self._worker(client, n) for n in range(self.workers)))

    async def _call(
        self, client: httpx.AsyncClient, method: str, path: str, expected: tuple[int, ...], **kw
    ) -> httpx.Response | None:
        phase, started, detail = self.phase, time.monotonic(), ""
        try:
            response = await client.request(method, path, **kw)
            kind = classify(response, expected)
            if kind != OK:
                detail = f"{path} {response.status_code} {response.text[:160]!r}"
        except httpx.HTTPError as error:
            response, kind, detail = None, CONNECTION, f"{path} {type(error).__name__}: {error}"
        self.outcomes.append(Outcome(phase, method, kind, time.monotonic() - started, detail))
        return response if kind == OK else None

    async def _worker(self, client: httpx.AsyncClient, number: int) -> None:
        rng = random.Random(number)
        mine = self.cars[number]
        next_at = time.monotonic()
        while not self._stop.is_set():
            roll = rng.random()
            if roll < 0.55 and self.read_ids:
                await self._call(client, "GET", f"/v1/cars/{rng.choice(self.read_ids)}", (200,))
            elif roll < 0.7:
                await self._call(client, "GET", "/v1/cars?limit=10", (200,))
            elif roll < 0.85 or not mine:
                await self._create(client, mine, rng)
            elif roll < 0.97:
                await self._patch(client, mine, rng)
            else:
                await self._delete(client, mine, rng)
            next_at += self.interval_s
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def _create(self, client: httpx.AsyncClient, mine: dict[int, Car], rng) -> None:
        vin = f"RHSL{next(self._vins):013d}"  # unique, and no I, O or Q
        mileage = rng.randrange(1_000_000)
        phase = self.phase
        answer = await self._call(
            client, "POST", "/v1/cars", (201,), json={**CAR, "vin": vin, "mileage_km": mileage}
        )
        if answer is None:
            self.unacknowledged_vins.append(vin)  # may or may not have been stored
        else:
            mine[answer.json()["id"]] = Car(vin, phase, mileage={mileage})

    def _own_live_car(self, mine: dict[int, Car], rng) -> int | None:
        live = [car_id for car_id, car in mine.items() if car.exists]
        return rng.choice(live) if live else None

    async def _patch(self, client: httpx.AsyncClient, mine: dict[int, Car], rng) -> None:
        car_id = self._own_live_car(mine, rng)
        if car_id is None:
            return
        mileage, phase = rng.randrange(1_000_000), self.phase
        answer = await self._call(
            client, "PATCH", f"/v1/cars/{car_id}", (200,), json={"mileage_km": mileage}
        )
        car = mine[car_id]
        if answer is None:
            car.mileage.add(mileage)
        else:
            car.mileage, car.phase = {mileage}, phase

    async def _delete(self, client: httpx.AsyncClient, mine: dict[int, Car], rng) -> None:
        car_id = self._own_live_car(mine, rng)
        if car_id is None:
            return
        phase = self.phase
        answer = await self._call(client, "DELETE", f"/v1/cars/{car_id}", (204,))
        car = mine[car_id]
        if answer is None:
            car.exists = None
        else:
            car.exists, car.phase = False, phase

    def acknowledged_cars(self) -> dict[int, Car]:
        return {car_id: car for mine in self.cars for car_id, car in mine.items()}


def lost_writes(cars: dict[int, Car], rows: dict[int, tuple[str, int]]) -> dict[str, int]:
    """Acknowledged writes the database does not reflect, counted by the phase that acknowledged
    them. ``rows``: the database's id -> (vin, mileage_km) for the rehearsal's cars."""
    lost: dict[str, int] = defaultdict(int)
    for car_id, car in cars.items():
        row = rows.get(car_id)
        kept = row is not None and row[0] == car.vin and row[1] in car.mileage
        if (car.exists is True and not kept) or (car.exists is False and row is not None):
            lost[car.phase] += 1
    return dict(lost)
