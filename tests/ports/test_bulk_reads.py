"""Bulk reads for reconciliation at scale: many sagas' or customers' records in a few requests, per adapter.

Each must give what the one-at-a-time read gives, for every key asked (past one request's limit), and leave out
keys the vendor has nothing for.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from models.crm import DealMilestones
from models.orders import SubscriptionItem
from models.support import SupportOrganization
from ports import CrmBulkReads, ErpBulkReads
from tests.ports.conftest import new_customer, new_saga_id
from tests.ports.seeds import DEALS
from tests.ports.test_erp_port import an_order


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


async def test_many_sagas_orders_and_invoices_in_one_query_each(erp, sim):
    """ERPs that read in bulk (ports.ErpBulkReads) give `orders_for` and `find_invoice` for many sagas at once."""
    reads_in_bulk = isinstance(erp, ErpBulkReads)  # a bool: `erp` keeps its full (Erp) interface below
    if not reads_in_bulk:
        pytest.skip(f"{erp.name} reads one saga at a time")
    sagas: list[str] = []
    for n in range(3):
        order, _ = await an_order(erp, ["PLAT-TEAM", "IMPL-STD"])
        created = await erp.create_sales_order(order)
        sagas.append(order.external_id.partition(":")[0])
        if n == 0:
            await erp.invoice_order(str(created.id), f"{sagas[0]}:invoice_erp")
    nobody = new_saga_id()
    before = requests_to(sim, erp.name)
    orders = await erp.orders_for_sagas([*sagas, nobody])
    invoices = await erp.find_invoices([f"{w}:invoice_erp" for w in [*sagas, nobody]])
    assert requests_to(sim, erp.name) - before <= 3  # a query each, and the currency list once
    assert set(orders) == set(sagas) and set(invoices) == {f"{sagas[0]}:invoice_erp"}
    for saga in sagas:
        alone = await erp.orders_for(saga)
        headers = [(o.id, o.number, o.external_id, o.customer_id, o.order_date, o.status, o.total) for o in alone]
        assert [
            (o.id, o.number, o.external_id, o.customer_id, o.order_date, o.status, o.total) for o in orders[saga]
        ] == headers
        assert all(o.total is not None and o.total.currency == "USD" for o in orders[saga])
    assert invoices[f"{sagas[0]}:invoice_erp"] == await erp.find_invoice(f"{sagas[0]}:invoice_erp")


async def test_many_deals_with_their_states_in_a_few_batch_reads(crm, sim):
    """CRMs that read in bulk (ports.CrmBulkReads) give `get_deal` and `deal_state` for a page of deals."""
    reads_in_bulk = isinstance(crm, CrmBulkReads)
    if not reads_in_bulk:
        pytest.skip(f"{crm.name} reads one deal at a time")
    ids = [DEALS[crm.name](sim, ["IMPL-STD", "PLAT-TEAM"], "won", "2032-02-01") for _ in range(4)]
    await crm.update_deal(ids[0], DealMilestones(status="completed", order_number="SO-1"))
    missing = "999999999"
    before = requests_to(sim, crm.name)
    found = await crm.deals_with_states([*ids, missing])
    assert requests_to(sim, crm.name) - before <= 8  # a batch read of each kind, two association reads
    assert set(found) == set(ids)
    for deal_id in ids:
        deal, state = found[deal_id]
        assert deal == await crm.get_deal(deal_id)
        assert state == await crm.deal_state(deal_id)
    assert found[ids[0]][1].milestones.status == "completed"
