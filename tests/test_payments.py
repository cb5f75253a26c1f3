"""Following invoices to payment: Stripe events as signals, the ERP by polling, gating, the deadline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from models.common import Region
from models.saga import BillingEvent, EntitlementGate, SagaPolicy, Stage
from tests.conftest import workflow_environment
from tests.test_billing_term_start import deal_starting
from tests.test_saga import BILLED_AT_SALE, FULL, deal_properties, wid


@pytest.fixture(scope="module")
async def env(request: pytest.FixtureRequest) -> AsyncIterator[WorkflowEnvironment]:
    """A server of this module's own: its waits on durable timers need time skipping, which any workflow
    another module leaves with work pending would hold back on a shared test server."""
    async with workflow_environment(request.config) as started:
        yield started


FAST_POLL = timedelta(seconds=0.2)


def policy(**overrides) -> dict[Region, SagaPolicy]:
    chosen = SagaPolicy(payment_deadline=timedelta(days=14), payment_poll_interval=FAST_POLL, **overrides)
    return {region: chosen for region in Region}


def stripe_invoices(sagas, deal_id: str) -> list[dict]:
    subscriptions = [
        s for s in sagas.sim.records("stripe", "subscription") if s["metadata"].get("q2c_workflow_id") == wid(deal_id)
    ]
    return [sagas.sim.store.get("stripe", "invoice", s["latest_invoice"]) for s in subscriptions]


def event(invoice: dict, kind: str, n: int = 0, created: datetime | None = None) -> BillingEvent:
    return BillingEvent(
        event_id=f"evt_{invoice['id']}_{kind}_{n}",
        type=kind,
        invoice_id=invoice["id"],
        created=created or datetime.now(UTC),
    )


def pay_stripe(sagas, invoice: dict) -> dict:
    response = sagas.sim.admin.post(f"/stripe/invoices/{invoice['id']}/pay")
    response.raise_for_status()
    return response.json()


async def test_entitlement_waits_for_payment_by_webhook_and_by_erp_polling(sagas):
    deal_id = deal_starting(sagas, FULL, BILLED_AT_SALE)  # its subscriptions invoiced at the sale
    handle = await sagas.start(deal_id, policies=policy(entitlement_gate=EntitlementGate.ON_PAYMENT))
    status = await sagas.wait_for(handle, lambda s: s.stage is Stage.AWAITING_PAYMENT)
    assert status.step("provision_entitlement") is None and status.payment == "awaiting"
    assert len(status.invoices) == 3  # the ERP invoice and two subscription invoices

    for invoice in stripe_invoices(sagas, deal_id):
        await handle.signal("billing_event", event(pay_stripe(sagas, invoice), "invoice.paid"))
    status = await sagas.wait_for(handle, lambda s: sum(i.status == "paid" for i in s.invoices.values()) == 2)
    assert status.stage is Stage.AWAITING_PAYMENT and status.step("provision_entitlement") is None

    erp_invoice = status.external_ids["invoice_erp"]
    sagas.sim.admin.post(f"/netsuite/invoices/{erp_invoice}/pay").raise_for_status()  # no event: q2c polls
    result = await sagas.finish(handle, "payment_gated_entitlement")
    assert result.stage is Stage.COMPLETED
    status = await sagas.status(handle)
    assert status.payment == "paid" and status.step("provision_entitlement") is not None
    properties = deal_properties(sagas.sim, deal_id)
    assert properties["payment_status"] == "paid" and properties["entitlement_status"] == "active"
    org = sagas.sim.store.find("zendesk", "organization", "external_id", status.customer_id)[0]
    assert org["organization_fields"]["invoice_status"] == "paid"
    assert org["organization_fields"]["entitlement_status"] == "active"


async def test_events_twice_late_out_of_order_or_unknown_are_recorded_and_applied_once(sagas):
    deal_id = deal_starting(sagas, ["PLAT-PRO"], BILLED_AT_SALE)  # one annual subscription invoice, no ERP invoice
    handle = await sagas.start(deal_id, policies=policy())
    await sagas.wait_for(handle, lambda s: s.stage is Stage.AWAITING_PAYMENT)
    [invoice] = stripe_invoices(sagas, deal_id)
    earlier = datetime.now(UTC) - timedelta(minutes=5)
    await handle.signal("billing_event", event(invoice, "invoice.payment_failed", created=earlier))
    paid = event(pay_stripe(sagas, invoice), "invoice.paid")
    await handle.signal("billing_event", paid)
    await handle.signal("billing_event", paid)  # Stripe delivers at least once
    await handle.signal("billing_event", event(invoice, "invoice.payment_failed", 2, created=earlier))  # late
    await handle.signal("billing_event", event({"id": "in_not_ours"}, "invoice.paid"))
    result = await sagas.finish(handle, "payment_events_out_of_order")
    assert result.stage is Stage.COMPLETED
    status = await sagas.status(handle)
    outcomes = [(e.type, e.outcome) for e in status.events]
    assert outcomes == [
        ("invoice.payment_failed", "applied"),
        ("invoice.paid", "applied"),
        ("invoice.paid", "duplicate"),
        ("invoice.payment_failed", "stale"),
        ("invoice.paid", "unknown_invoice"),
    ]
    assert [s.name for s in status.steps].count(f"milestone_paid_{invoice['id']}") == 1
    assert deal_properties(sagas.sim, deal_id)["payment_status"] == "paid"


async def test_an_unpaid_invoice_past_the_deadline_flags_support_and_opens_a_finance_ticket(sagas, time_skipping):
    # Subscription invoices only: a running ERP poller would keep the test server from skipping time.
    deal_id = deal_starting(sagas, ["PLAT-PRO", "PLAT-TEAM"], BILLED_AT_SALE)
    handle = await sagas.start(deal_id, policies=policy())
    result = await sagas.finish(handle, "payment_overdue")  # the test server skips the 14 days
    assert result.stage is Stage.COMPLETED
    status = await sagas.status(handle)
    assert status.payment == "overdue" and status.step("provision_entitlement") is not None  # gated on invoice
    org = sagas.sim.store.find("zendesk", "organization", "external_id", status.customer_id)[0]
    assert org["organization_fields"]["invoice_status"] == "overdue"
    [ticket] = sagas.sim.store.find("zendesk", "ticket", "external_id", f"{wid(deal_id)}:finance_review")
    assert "finance_review" in ticket["tags"] and ticket["organization_id"] == int(org["id"])
    assert status.external_ids["finance_review"] == str(ticket["id"])
    assert deal_properties(sagas.sim, deal_id)["payment_status"] == "overdue"


def test_payment_gating_without_a_deadline_is_refused():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="on_payment needs a payment_deadline"):
        SagaPolicy(entitlement_gate=EntitlementGate.ON_PAYMENT)
