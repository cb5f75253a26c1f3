"""Billing follows the contract's term: a sale whose term starts after today is billed from the term's first day
(Stripe's `billing_cycle_anchor` there, `proration_behavior=none`: nothing charged before, no invoice at the
sale), a term starting today is billed at once as before, and a renewal's uplifted prices begin on the new term's
first day. Every date is taken from the test server's clock, so the tests mean the same on any day."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from models.common import Region
from models.contract import Contract, ContractInput, ContractPolicy, NewSale
from models.deal import DealKind
from models.money import Money
from models.saga import EntitlementGate, SagaPolicy, Stage
from tests.conftest import workflow_environment
from tests.test_contract import change_deal, history_until, open_contract, settled

FULL = ["PLAT-PRO", "IMPL-STD", "PLAT-TEAM"]  # annual + one-time + monthly


@pytest.fixture
async def env(request: pytest.FixtureRequest) -> AsyncIterator[WorkflowEnvironment]:
    """A server per test: a contract's timers must not be skipped to by another test's waits."""
    async with workflow_environment(request.config) as started:
        yield started


def midnight(day: date) -> int:
    return int(datetime.combine(day, time(), UTC).timestamp())


def first_of_next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def deal_starting(sagas: Any, skus: list[str], start: date, quantities: dict[str, str] | None = None) -> str:
    """A deal whose recurring lines start on `start` (HubSpot's `hs_recurring_billing_start_date`)."""
    deal_id = sagas.new_deal(skus, quantities=quantities)
    hubspot, store = sagas.sim.app.state.apps["hubspot"].state, sagas.sim.store
    for line_id in store.get("hubspot", "deals", deal_id)["associations"]["line_items"]:
        line = store.get("hubspot", "line_items", line_id)
        if "hs_recurring_billing_start_date" in line["properties"]:
            hubspot.update("line_items", line, {"hs_recurring_billing_start_date": start.isoformat()})
    return deal_id


def subscriptions_of(sagas: Any, deal_id: str) -> list[dict[str, Any]]:
    wid = f"q2c-hubspot-{deal_id}"
    return [s for s in sagas.sim.records("stripe", "subscription") if s["metadata"].get("q2c_workflow_id") == wid]


def invoices_of(sagas: Any, subscription_id: str) -> list[dict[str, Any]]:
    return [i for i in sagas.sim.records("stripe", "invoice") if i.get("subscription") == subscription_id]


async def today(env: WorkflowEnvironment) -> date:
    return (await env.get_current_time()).astimezone(UTC).date()


async def test_a_sale_whose_term_starts_later_is_billed_from_the_term_start(sagas, env):
    start = first_of_next_month(await today(env))
    deal_id = deal_starting(sagas, FULL, start)
    handle = await sagas.start(deal_id)
    result = await sagas.finish(handle, "billed_from_term_start")  # kept for the replay gate
    assert result.stage is Stage.COMPLETED and result.error is None
    subscriptions = subscriptions_of(sagas, deal_id)
    assert len(subscriptions) == 2  # annual and monthly
    for sub in subscriptions:
        # Stripe's first full period starts at the term's first day; the time before it is free, not invoiced
        assert sub["billing_cycle_anchor"] == sub["current_period_end"] == midnight(start), sub["id"]
        assert sub["status"] == "active" and sub["latest_invoice"] is None and invoices_of(sagas, sub["id"]) == []
    status = await sagas.status(handle)
    names = [step.name for step in status.steps]
    assert not [n for n in names if n.startswith("finalize_invoice")] and "invoice_erp" in names  # one-time: now
    assert list(status.invoices) == [result.external_ids["invoice_erp"]]
    company_id = sagas.sim.store.get("hubspot", "deals", deal_id)["associations"]["companies"][0]
    [org] = sagas.sim.store.find("zendesk", "organization", "external_id", company_id)
    assert org["organization_fields"]["contract_start"] == start.isoformat()


async def test_a_sale_whose_term_starts_today_is_billed_at_once_as_before(sagas, env):
    start = await today(env)
    deal_id = deal_starting(sagas, ["PLAT-PRO", "PLAT-TEAM"], start)
    handle = await sagas.start(deal_id)
    result = await sagas.finish(handle)
    assert result.stage is Stage.COMPLETED and result.error is None
    for sub in subscriptions_of(sagas, deal_id):
        assert sub["billing_cycle_anchor"] == sub["current_period_start"] == sub["start_date"]
        assert sub["current_period_end"] > midnight(start + timedelta(days=27))  # a whole period from the sale
        invoice = sagas.sim.store.get("stripe", "invoice", sub["latest_invoice"])
        assert (
            invoice["status"] == "open" and invoice["total"] > 0 and invoice["billing_reason"] == "subscription_create"
        )
    names = [step.name for step in (await sagas.status(handle)).steps]
    assert {"finalize_invoice_annually", "finalize_invoice_monthly"} <= set(names)


async def test_a_payment_gate_with_nothing_due_before_the_term_entitles(sagas, env):
    """Recurring lines only, starting next month: no invoice exists at the sale, so there is nothing to pay yet;
    the region's payment gate does not hold support back for an invoice that comes on the term's first day."""
    start = first_of_next_month(await today(env))
    deal_id = deal_starting(sagas, ["PLAT-PRO"], start)
    gated = SagaPolicy(payment_deadline=timedelta(days=14), entitlement_gate=EntitlementGate.ON_PAYMENT)
    handle = await sagas.start(deal_id, policies=dict.fromkeys(Region, gated))
    result = await sagas.finish(handle, "billed_from_term_start_payment_gate")
    assert result.stage is Stage.COMPLETED and result.error is None
    status = await sagas.status(handle)
    assert status.invoices == {} and status.payment == "not_invoiced"
    assert status.step("provision_entitlement") is not None
    assert sagas.sim.store.get("hubspot", "deals", deal_id)["properties"]["entitlement_status"] == "active"


async def test_a_renewals_uplifted_prices_begin_on_the_new_terms_first_day(sagas, adapters, env, time_skipping):
    start = first_of_next_month(await today(env))
    term_end = date(start.year + 1, start.month, 1) - timedelta(days=1)
    deal_id = deal_starting(sagas, ["PLAT-PRO"], start, {"PLAT-PRO": "2"})
    result = await sagas.finish(await sagas.start(deal_id))
    assert result.stage is Stage.COMPLETED, result.error
    deal = await adapters.crm.get_deal(deal_id)
    [annual] = [s["id"] for s in subscriptions_of(sagas, deal_id)]
    sale = NewSale(
        saga_id=f"q2c-hubspot-{deal_id}",
        crm="hubspot",
        deal=deal,
        customer=deal.company,
        erp_customer_id=result.external_ids["upsert_customer"],
        order_id=result.external_ids["create_order"],
        term_start=start,
        term_end=term_end,
        tier="premium",
        subscriptions=[annual],
        correlation_id=f"test-{deal_id}",
    )
    uplift = Decimal("0.05")
    handle = await open_contract(sagas, sale, ContractInput(sale=sale, policy=ContractPolicy(uplift=uplift)))
    await env.sleep(timedelta(days=90))  # an expansion in the term (Stripe's period has rolled to the anchor)
    await handle.signal("change", await change_deal(sagas, adapters, DealKind.EXPANSION, "PLAT-PRO", "1"))
    assert (await history_until(handle, settled(2)))[-1].outcome == "applied"
    await env.sleep(timedelta(days=200))  # past the renewal notice
    await handle.signal("change", await change_deal(sagas, adapters, DealKind.RENEWAL, "PLAT-PRO", "3"))
    await history_until(handle, lambda h: any(r.kind == "renewal" and r.outcome == "applied" for r in h))
    contract = await handle.query("contract", result_type=Contract)
    assert (contract.term_start, contract.terms) == (term_end + timedelta(days=1), 2)
    sub = sagas.sim.store.get("stripe", "subscription", annual)
    schedule = sagas.sim.store.get("stripe", "subscription_schedule", sub["schedule"])
    phase = schedule["phases"][1]
    assert phase["start_date"] == midnight(contract.term_start) == sub["current_period_end"]  # not a day before
    uplifted = (Money(amount=Decimal(18000), currency="USD") * (1 + uplift)).rounded()
    price = sagas.sim.store.get("stripe", "price", phase["items"][0]["price"])
    assert price["unit_amount"] == uplifted.to_minor_units() and phase["items"][0]["quantity"] == 3


async def test_reconciliation_finds_nothing_unbilled_in_a_sale_billed_from_a_later_term(sagas, adapters, env):
    """Entitled, with nothing invoiced yet: right for a term that starts later (billing starts on its first day),
    so reconciliation names no `entitlement_unbilled`; a term already begun with no invoice still is named."""
    from activities.reconcile import saga_records
    from models.postconditions import drift
    from models.reconcile import Drift

    start = first_of_next_month(await today(env))
    deal_id = deal_starting(sagas, ["PLAT-PRO"], start)  # recurring only: no ERP invoice either
    assert (await sagas.finish(await sagas.start(deal_id))).stage is Stage.COMPLETED
    records = await saga_records(adapters.crm, adapters.erp, adapters.billing, adapters.support, deal_id)
    [billed] = records.subscriptions
    assert billed.bills_from == midnight(start) and not records.invoiced
    assert [d.kind for d in drift(records)] == []
    begun = records.model_copy(update={"subscriptions": [billed.model_copy(update={"bills_from": None})]})
    assert [d.kind for d in drift(begun)] == [Drift.ENTITLEMENT_UNBILLED]
