"""The port conformance kit: every adapter of a port, against its simulator, passes the same suite.

A new adapter is done when its role's suite passes with it: register it in connectors/registry.py (and,
for a CRM, say in seeds.py how its simulator makes a deal); the suites parametrize over the registry.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from connectors.registry import ADAPTERS, make_adapter
from models.common import Region
from models.party import Address, Contact, Customer
from tests.conftest import Sim


async def _adapter(role: str, name: str, sim: Sim) -> AsyncIterator[Any]:
    async with make_adapter(role, name, simulators=sim.url, timeout_s=2.0) as adapter:
        yield adapter


@pytest.fixture(params=sorted(ADAPTERS["crm"]))
async def crm(request: pytest.FixtureRequest, sim: Sim) -> AsyncIterator[Any]:
    async for adapter in _adapter("crm", request.param, sim):
        yield adapter


@pytest.fixture(params=sorted(ADAPTERS["erp"]))
async def erp(request: pytest.FixtureRequest, sim: Sim) -> AsyncIterator[Any]:
    async for adapter in _adapter("erp", request.param, sim):
        yield adapter


@pytest.fixture(params=sorted(ADAPTERS["billing"]))
async def billing(request: pytest.FixtureRequest, sim: Sim) -> AsyncIterator[Any]:
    async for adapter in _adapter("billing", request.param, sim):
        yield adapter


@pytest.fixture(params=sorted(ADAPTERS["support"]))
async def support(request: pytest.FixtureRequest, sim: Sim) -> AsyncIterator[Any]:
    async for adapter in _adapter("support", request.param, sim):
        yield adapter


def new_customer(currency: str = "USD", region: Region = Region.NA, country: str = "US") -> Customer:
    """A customer no test has used: q2c's id, a billing address and a contact."""
    tag = uuid.uuid4().hex[:8]
    return Customer(
        id=f"port-{tag}",
        legal_name=f"Port Test {tag} Inc",
        billing_address=Address(line1="1 Main St", city="Springfield", postal_code="12345", country=country),
        legal_entity="1",
        currency=currency,
        region=region,
        contacts=[Contact(first_name="Ada", last_name="Port", email=f"ada-{tag}@example.com")],
        external_ids={},
    )


def new_saga_id() -> str:
    return f"q2c-porttest-{uuid.uuid4().hex[:10]}"
