"""A vendor's requests-per-second ceiling: never more than the limit begun in any second, and no slower than that."""

from __future__ import annotations

import asyncio
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


async def test_no_window_of_a_second_begins_more_than_the_limit_and_none_waits_longer_than_it_must():
    fake = FakeTime()
    pacer = Pacer(10, clock=fake.clock, sleep=fake.sleep)
    begun: list[float] = []

    async def request() -> None:
        await pacer.wait_turn()
        begun.append(fake.now)

    await asyncio.gather(*(request() for _ in range(35)))
    assert len(begun) == 35
    assert peak_in_window(begun, 1.0) == 10
    assert sorted(begun) == [0.0] * 10 + [1.0] * 10 + [2.0] * 10 + [3.0] * 5


async def test_requests_spread_over_time_are_not_held():
    fake = FakeTime()
    pacer = Pacer(2, clock=fake.clock, sleep=fake.sleep)
    for second in range(5):
        fake.now = float(second)
        await pacer.wait_turn()
        await pacer.wait_turn()
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


async def test_a_connector_with_a_ceiling_sends_no_more_than_it_a_second():
    sent: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(time.monotonic())
        return httpx.Response(200, json={})

    settings = VendorSettings(base_url="http://vendor.test", token=SecretStr("t"), requests_per_second=5)
    began = time.monotonic()
    async with Vendor(settings, transport=httpx.MockTransport(answer)) as vendor:
        await asyncio.gather(*(vendor.request("GET", f"/thing/{i}") for i in range(12)))
    assert len(sent) == 12
    assert peak_in_window(sent, 1.0) <= 5
    assert time.monotonic() - began >= 2.0  # 5 at once, 5 a second later, 2 a second after that

    unpaced = VendorSettings(base_url="http://vendor.test", token=SecretStr("t"))
    sent.clear()
    async with Vendor(unpaced, transport=httpx.MockTransport(answer)) as vendor:
        await asyncio.gather(*(vendor.request("GET", f"/thing/{i}") for i in range(12)))
    assert peak_in_window(sent, 1.0) == 12  # the ceiling, not the test's transport, held them back above
