"""A vendor's requests-per-second ceiling, as the vendor counts arrivals: never more than the limit in any second,
however late a request arrives, and no slower than the ceiling and the round trips make it."""

from __future__ import annotations

import asyncio
import random
import time

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from benchmarks.rates import peak_in_window
from connectors.http import VendorClient
from connectors.pacing import Pacer
from connectors.settings import NetSuiteSettings, VendorSettings


class FakeTime:
    """A clock that only moves when someone sleeps, so the pacer's arithmetic is checked exactly."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


async def test_no_second_begins_more_than_the_limit_and_none_waits_longer_than_it_must():
    fake = FakeTime()
    pacer = Pacer(10, clock=fake.clock, sleep=fake.sleep)
    begun: list[float] = []

    async def request() -> None:
        async with pacer.turn():
            begun.append(fake.now)

    await asyncio.gather(*(request() for _ in range(35)))
    assert sorted(begun) == [0.0] * 10 + [1.0] * 10 + [2.0] * 10 + [3.0] * 5


async def test_a_place_is_held_until_a_window_after_its_request_ends():
    fake = FakeTime()
    pacer = Pacer(2, clock=fake.clock, sleep=fake.sleep)
    answered, begun = asyncio.Event(), list[float]()

    async def request() -> None:
        async with pacer.turn():
            begun.append(fake.now)
            await answered.wait()  # in flight: the vendor may stamp it at any moment until it ends

    first_two = [asyncio.create_task(request()) for _ in range(2)]
    third = asyncio.create_task(request())
    await asyncio.sleep(0.05)
    assert begun == [0.0, 0.0]  # both places in flight: the third waits however long they take
    fake.now = 0.5
    answered.set()
    await asyncio.gather(*first_two, third)
    assert begun[2] == 1.5  # the first two ended at 0.5: a place frees a window later, not at 1.0


async def test_requests_spread_over_time_are_not_held():
    fake = FakeTime()
    pacer = Pacer(2, clock=fake.clock, sleep=fake.sleep)
    for second in range(5):
        fake.now = float(second)
        for _ in range(2):
            async with pacer.turn():
                assert fake.now == second  # two a second is the limit: nobody waited


def test_a_limit_below_one_is_refused_where_it_is_set(monkeypatch):
    monkeypatch.setenv("Q2C_NETSUITE_REQUESTS_PER_SECOND", "0")
    with pytest.raises(ValidationError, match="requests_per_second"):
        NetSuiteSettings()
    with pytest.raises(ValueError, match="at least 1"):
        Pacer(0)
    monkeypatch.setenv("Q2C_NETSUITE_REQUESTS_PER_SECOND", "15")
    assert NetSuiteSettings().requests_per_second == 15


class Vendor(VendorClient):
    system = "vendor"


def late_arrivals(seed: int) -> tuple[list[float], httpx.MockTransport]:
    """A vendor that stamps each request's arrival after a random delay of up to 300 ms (a busy loop, a queue)."""
    arrived: list[float] = []
    delays = random.Random(seed)

    async def answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(delays.uniform(0, 0.3))
        arrived.append(time.monotonic())
        await asyncio.sleep(0.01)
        return httpx.Response(200, json={})

    return arrived, httpx.MockTransport(answer)


async def test_a_connector_with_a_ceiling_never_arrives_more_than_it_in_a_second_however_late_requests_land():
    arrived, transport = late_arrivals(seed=15)
    settings = VendorSettings(base_url="http://vendor.test", token=SecretStr("t"), requests_per_second=5)
    began = time.monotonic()
    async with Vendor(settings, transport=transport) as vendor:
        await asyncio.gather(*(vendor.request("GET", f"/thing/{i}") for i in range(15)))
    assert len(arrived) == 15
    assert peak_in_window(arrived, 1.0) <= 5
    assert time.monotonic() - began >= 2.0

    arrived, transport = late_arrivals(seed=15)
    unpaced = VendorSettings(base_url="http://vendor.test", token=SecretStr("t"))
    async with Vendor(unpaced, transport=transport) as vendor:
        await asyncio.gather(*(vendor.request("GET", f"/thing/{i}") for i in range(15)))
    assert peak_in_window(arrived, 1.0) == 15  # the ceiling, not the test's vendor, held them back above
