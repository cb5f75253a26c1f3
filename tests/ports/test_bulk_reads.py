"""Bulk reads for reconciliation at scale: many sagas' or customers' records in a few requests, per adapter.

Each must give what the one-at-a-time read gives, for every key asked (past one request's limit), and leave out
keys the vendor has nothing for.
"""

from __future__ import annotations

import uuid
from typing import Any

from models.orders import SubscriptionItem
from models.support import SupportOrganization
from tests.ports.conftest import new_customer, new_saga_id


def requests_to(sim: Any, system: str) -> int:
    return sum(int(row["count"]) for row in sim.store.request_counts(system))


async def test_many_sagas_subscriptions_and_customers_in_a_few_searches(billing, sim):
    customers = [new_customer() for _ in range(12)]  # past one search's 10 clauses
    billing_ids = [await billing.ensure_customer(c) for c in customers]
    price = await billing.find_price("PLAT-TEAM", "USD")
    sagas = [new_saga_id() for _ in customers]
    for customer_id, saga in zip(billing_ids, sagas, strict=True):
        items = [SubscriptionItem(price_id=str(price.id), quantity=1)]
        await billing.subscribe(customer_id, items, saga, uuid.uuid4().hex[:6], f"{saga}:subscribe_monthly")
    nobody = new_saga_id()
    before = requests_to(sim, billing.name)
    found = await billing.subscriptions_for_sagas([*sagas, nobody])
    owners = await billing.customers_for_many([c.id for c in customers] + ["port-nobody"])
    assert requests_to(sim, billing.name) - before <= 4  # 13 keys: two searches each, not 26 reads
    assert set(found) == set(sagas) and nobody not in found
    for saga in sagas[:3]:
        assert [s.id for s in found[saga]] == [s.id for s in await billing.subscriptions_for(saga)]
    assert {c.id: owners[c.id] for c in customers} == {c.id: [b] for c, b in zip(customers, billing_ids, strict=True)}
    assert "port-nobody" not in owners


async def test_many_organizations_by_customer_id_in_a_few_requests(support, sim):
    tag = uuid.uuid4().hex[:6]
    orgs = [SupportOrganization(external_id=f"port-{tag}-{i}", name=f"Bulk {tag} {i}") for i in range(105)]
    for org in orgs:
        await support.upsert_organization(org)
    wanted = [o.external_id for o in orgs] + [f"port-{tag}-missing"]
    before = requests_to(sim, support.name)
    found = await support.find_organizations(wanted)
    assert requests_to(sim, support.name) - before <= 2  # 106 ids: 100 a request
    assert set(found) == {o.external_id for o in orgs}
    one = await support.find_organization(orgs[-1].external_id)
    assert one is not None and found[orgs[-1].external_id] == one
