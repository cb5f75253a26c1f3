"""QuoteToCash on Temporal's time-skipping server, with the real activities against the simulators."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from models.saga import CancelRequest, CreditDecision, EntitlementGate, SagaPolicy, Stage, StepState
from tests.conftest import workflow_environment
from tests.test_billing_term_start import deal_starting
from workflows import search


@pytest.fixture(scope="module")
async def env(request: pytest.FixtureRequest) -> AsyncIterator[WorkflowEnvironment]:
    """A server of this module's own: its waits on durable timers need time skipping, which any workflow
    another module leaves with work pending would hold back on a shared test server."""
    async with workflow_environment(request.config) as started:
        yield started


FULL = ["PLAT-PRO", "IMPL-STD", "PLAT-TEAM"]  # annual + one-time + monthly: every path of the saga
BILLED_AT_SALE = date(2026, 11, 25)  # a term begun by the sale is billed at once (later: test_billing_term_start)


def one(sim: Any, system: str, kind: str, field: str, value: str) -> dict[str, Any]:
    found = sim.store.find(system, kind, field, value)
    assert len(found) == 1, f"{system} {kind} with {field}={value}: {len(found)} records"
    return found[0]


def deal_properties(sim: Any, deal_id: str) -> dict[str, Any]:
    return sim.store.get("hubspot", "deals", deal_id)["properties"]


async def test_happy_path_creates_each_record_once_and_writes_milestones_back(sagas):
    deal_id = deal_starting(sagas, FULL, BILLED_AT_SALE)
    handle = await sagas.start(deal_id)
    result = await sagas.finish(handle, "happy_path")
    sim, wid = sagas.sim, f"q2c-hubspot-{deal_id}"
    assert result.stage is Stage.COMPLETED and result.error is None and result.compensations == []

    order = one(sim, "netsuite", "salesOrder", "externalId", f"{wid}:create_order")
    assert order["orderStatus"]["refName"] == "Billed" and result.external_ids["create_order"] == order["id"]
    invoice = one(sim, "netsuite", "invoice", "externalId", f"{wid}:invoice_erp")
    assert [line["item"]["refName"] for line in invoice["item"]["items"]] == ["IMPL-STD"]
    subscriptions = [s for s in sim.records("stripe", "subscription") if s["metadata"].get("q2c_workflow_id") == wid]
    assert sorted(s["items"]["data"][0]["price"]["lookup_key"] for s in subscriptions) == [
        "plat-pro:usd",
        "plat-team:usd",
    ]
    for subscription in subscriptions:
        assert sim.store.get("stripe", "invoice", subscription["latest_invoice"])["status"] == "open"
    company_id = sim.store.get("hubspot", "deals", deal_id)["associations"]["companies"][0]
    org = one(sim, "zendesk", "organization", "external_id", company_id)
    assert (
        org["organization_fields"].items()
        >= {
            "service_tier": "premium",
            "entitlement_status": "active",
            "invoice_status": "posted",
            "contract_start": "2026-11-25",
            "contract_end": "2027-11-24",
        }.items()
    )
    properties = deal_properties(sim, deal_id)
    assert properties["erp_order_number"] == order["tranId"] and properties["q2c_status"] == "completed"
    assert properties["entitlement_status"] == "active" and properties["invoice_status"] == "posted"

    status = await sagas.status(handle)
    assert all(step.state is StepState.COMPLETED and step.attempts >= 1 and step.finished_at for step in status.steps)
    description = await handle.describe()
    assert description.status is WorkflowExecutionStatus.COMPLETED
    attributes = description.typed_search_attributes
    assert attributes.get(search.STAGE) == "completed" and attributes.get(search.HOLD) == ""
    assert attributes.get(search.CUSTOMER) == company_id and attributes.get(search.AMOUNT) == float(
        status.amount.amount
    )


def wid(deal_id: str) -> str:
    return f"q2c-hubspot-{deal_id}"


async def test_a_second_start_for_the_same_deal_joins_the_first(sagas):
    from client.starter import start_saga

    deal_id = sagas.new_deal(["IMPL-STD"])
    first = await start_saga(
        sagas.client, deal_id, triggered_by="webhook:1", correlation_id="a", task_queue=sagas.task_queue
    )
    second = await start_saga(
        sagas.client, deal_id, triggered_by="webhook:1-redelivered", correlation_id="b", task_queue=sagas.task_queue
    )
    assert first.workflow_id == second.workflow_id == wid(deal_id)
    assert first.new and not second.new and first.run_id == second.run_id
    await sagas.finish(first.handle)
    after = await start_saga(
        sagas.client, deal_id, triggered_by="cli:alice", correlation_id="c", task_queue=sagas.task_queue
    )
    assert not after.new  # a finished saga is not started again
    assert len(sagas.sim.store.find("netsuite", "salesOrder", "externalId", f"{wid(deal_id)}:create_order")) == 1


async def over_credit_deal(sagas) -> str:
    company = sagas.sim.store.get("hubspot", "deals", sagas.sim.manifest["deals"]["over_credit"][0])
    return sagas.new_deal(["PLAT-PRO"], company=company["associations"]["companies"][0])


async def test_credit_hold_is_released_by_approval(sagas):
    handle = await sagas.start(await over_credit_deal(sagas))
    status = await sagas.wait_for(handle, lambda s: s.stage is Stage.ON_HOLD)
    assert status.hold is not None and status.hold.reason == "credit_review"
    assert status.hold.deadline - status.hold.since == timedelta(hours=72)
    assert "exceeds limit 20000" in status.hold.detail
    attributes = (await handle.describe()).typed_search_attributes
    assert (attributes.get(search.STAGE), attributes.get(search.HOLD)) == ("on_hold", "credit_review")
    assert deal_properties(sagas.sim, status.deal_id)["q2c_status"] == "on_hold"
    await handle.signal("approve_credit", CreditDecision(approver="cfo@q2c.example", reason="strategic account"))
    result = await sagas.finish(handle, "credit_hold_approved")
    assert result.stage is Stage.COMPLETED
    status = await sagas.status(handle)
    hold = status.holds[0]
    assert (hold.decision, hold.decided_by, hold.note) == ("approved", "cfo@q2c.example", "strategic account")
    [approved] = status.decisions  # every operator decision is recorded, accepted or refused
    assert (approved.action, approved.by, approved.step, approved.accepted) == (
        "approve_credit",
        "cfo@q2c.example",
        "credit_review",
        True,
    )
    assert (await handle.describe()).typed_search_attributes.get(search.HOLD) == ""


async def test_credit_hold_rejected_ends_the_saga_before_any_order(sagas):
    handle = await sagas.start(await over_credit_deal(sagas))
    await sagas.wait_for(handle, lambda s: s.stage is Stage.ON_HOLD)
    await handle.signal("reject_credit", CreditDecision(approver="cfo@q2c.example", reason="too risky"))
    result = await sagas.finish(handle, "credit_hold_rejected")
    assert result.stage is Stage.FAILED and result.compensations == []
    assert result.error is not None and result.error.type == "CreditRejected" and "too risky" in result.error.message
    status = await sagas.status(handle)
    assert status.holds[0].decision == "rejected" and status.step("create_order") is None
    assert deal_properties(sagas.sim, status.deal_id)["q2c_status"] == "failed"


@pytest.mark.parametrize(("expiry", "stage"), [("reject", Stage.FAILED), ("approve", Stage.COMPLETED)])
async def test_credit_hold_deadline_applies_the_regional_policy(sagas, time_skipping, expiry, stage):
    policy = SagaPolicy(credit_hold_deadline=timedelta(hours=24), on_hold_expiry=expiry)
    handle = await sagas.start(await over_credit_deal(sagas), policy)
    await sagas.wait_for(handle, lambda s: s.stage is Stage.ON_HOLD)
    result = await sagas.finish(handle)  # the time-skipping server jumps the 24 hours
    assert result.stage is stage
    hold = (await sagas.status(handle)).holds[0]
    assert hold.decision == "expired" and hold.decided_by == "policy"
    assert hold.decided_at is not None and hold.decided_at - hold.since >= timedelta(hours=24)


PRO_PRICE = "price_00000000000004"  # PLAT-PRO in USD: the annual line of FULL
ORDER, WRITE_BACK, ERP_INVOICE = "create_order", "write_back_order", "invoice_erp"
MONTHLY, ANNUAL, ENTITLEMENT = "subscribe_monthly", "subscribe_annually", "provision_entitlement"


def business(system: str, method: str, path: str, **extra: Any) -> dict[str, Any]:
    return {
        "system": system,
        "kind": "business",
        "method": method,
        "path": path,
        "code": "SCRIPTED_REFUSAL",
        "message": "refused by a scripted business rule",
        **extra,
    }


@pytest.mark.parametrize(
    ("failing", "fault", "undone"),
    [
        (
            ORDER,
            lambda w: business("netsuite", "POST", "/services/rest/record/v1/salesOrder", match=f"{w}:create_order"),
            [],
        ),
        (WRITE_BACK, lambda w: business("hubspot", "PATCH", "/crm/v3/objects/deals/*", match=w), [ORDER]),
        (
            ERP_INVOICE,
            lambda w: business("netsuite", "POST", "*/!transform/invoice", match=f"{w}:invoice_erp"),
            [WRITE_BACK, ORDER],
        ),
        (
            "finalize_invoice_monthly",
            lambda w: business("stripe", "POST", "/v1/invoices/*/finalize", count=1),
            [MONTHLY, ERP_INVOICE, WRITE_BACK, ORDER],
        ),
        (
            ANNUAL,
            lambda w: business("stripe", "POST", "/v1/subscriptions", match=PRO_PRICE),
            [MONTHLY, ERP_INVOICE, WRITE_BACK, ORDER],
        ),
        (
            ENTITLEMENT,
            lambda w: business("zendesk", "POST", "/api/v2/organizations/create_or_update", count=1),
            [ANNUAL, MONTHLY, ERP_INVOICE, WRITE_BACK, ORDER],
        ),
        (
            "milestone_support",
            lambda w: business(
                "zendesk", "POST", "/api/v2/organizations/create_or_update", match="invoice_status", count=1
            ),
            [ENTITLEMENT, ANNUAL, MONTHLY, ERP_INVOICE, WRITE_BACK, ORDER],
        ),
    ],
)
async def test_a_business_failure_undoes_exactly_the_completed_steps_in_reverse(sagas, failing, fault, undone):
    deal_id = sagas.new_deal(FULL)
    assert sagas.sim.store.get("stripe", "price", PRO_PRICE)["lookup_key"] == "plat-pro:usd"
    sagas.sim.fault(**fault(wid(deal_id)))
    result = await sagas.finish(await sagas.start(deal_id), f"business_failure_at_{failing}")
    assert result.error is not None and result.error.step == failing and result.error.type == "SCRIPTED_REFUSAL"
    assert [c.step for c in result.compensations] == undone
    assert result.stage is (Stage.COMPENSATED if undone else Stage.FAILED)
    properties = deal_properties(sagas.sim, deal_id)
    assert properties["q2c_status"] == result.stage.value
    assert "refused by a scripted business rule" in properties["q2c_status_reason"]


async def test_compensation_leaves_nothing_behind_in_any_system(sagas):
    deal_id = sagas.new_deal(FULL)
    sagas.sim.fault(
        **business("zendesk", "POST", "/api/v2/organizations/create_or_update", match="invoice_status", count=1)
    )
    result = await sagas.finish(await sagas.start(deal_id))
    sim, w = sagas.sim, wid(deal_id)
    assert one(sim, "netsuite", "salesOrder", "externalId", f"{w}:create_order")["orderStatus"]["refName"] == "Closed"
    invoice = one(sim, "netsuite", "invoice", "externalId", f"{w}:invoice_erp")
    assert invoice["amountRemaining"] == "0.00"
    assert one(sim, "netsuite", "creditMemo", "externalId", f"{w}:credit_erp_invoice")["total"] == invoice["total"]
    for subscription in [s for s in sim.records("stripe", "subscription") if s["metadata"].get("q2c_workflow_id") == w]:
        assert subscription["status"] == "canceled"
        assert sim.store.get("stripe", "invoice", subscription["latest_invoice"])["status"] == "void"
    company_id = result.external_ids.get(ENTITLEMENT)
    org = sim.store.get("zendesk", "organization", str(company_id))
    assert org["organization_fields"]["entitlement_status"] == "revoked"
    assert deal_properties(sim, deal_id)["q2c_status"] == "compensated"


async def test_a_deal_that_is_not_closed_won_is_refused_and_noted(sagas):
    deal_id = sagas.new_deal(["PLAT-PRO"], stage="contractsent")
    result = await sagas.finish(await sagas.start(deal_id), "invalid_deal")
    assert result.stage is Stage.FAILED and result.error is not None and result.error.type == "InvalidDeal"
    assert "stage is 'contractsent'" in result.error.message
    assert deal_properties(sagas.sim, deal_id)["q2c_status"] == "failed"
    assert not sagas.sim.store.find("netsuite", "salesOrder", "externalId", f"{wid(deal_id)}:create_order")


def slow(system: str, method: str, path: str) -> dict[str, Any]:
    return {"system": system, "kind": "latency", "method": method, "path": path, "latency_ms": 1500, "count": 1}


@pytest.mark.parametrize(
    ("running", "fault", "undone"),
    [
        (ORDER, slow("netsuite", "POST", "/services/rest/record/v1/salesOrder"), [ORDER]),
        (ERP_INVOICE, slow("netsuite", "POST", "*/!transform/invoice"), [ERP_INVOICE, WRITE_BACK, ORDER]),
        (
            ENTITLEMENT,
            slow("zendesk", "POST", "/api/v2/organizations/create_or_update"),
            [ENTITLEMENT, ANNUAL, MONTHLY, ERP_INVOICE, WRITE_BACK, ORDER],
        ),
    ],
)
async def test_cancel_during_a_stage_finishes_the_step_then_undoes_everything(sagas, running, fault, undone):
    deal_id = sagas.new_deal(FULL)
    sagas.sim.fault(**fault)
    handle = await sagas.start(deal_id)
    await sagas.wait_for(handle, lambda s: s.step(running) is not None)
    await handle.signal("cancel", CancelRequest(requested_by="ops@q2c.example", reason="customer withdrew"))
    result = await sagas.finish(handle, f"cancel_during_{running}")
    assert result.stage is Stage.CANCELLED and [c.step for c in result.compensations] == undone
    assert result.error is not None and result.error.message == "cancelled by ops@q2c.example: customer withdrew"
    assert deal_properties(sagas.sim, deal_id)["q2c_status"] == "cancelled"


async def test_cancel_while_on_hold(sagas):
    handle = await sagas.start(await over_credit_deal(sagas))
    await sagas.wait_for(handle, lambda s: s.stage is Stage.ON_HOLD)
    await handle.signal("cancel", CancelRequest(requested_by="ops", reason="duplicate deal"))
    result = await sagas.finish(handle, "cancel_on_hold")
    assert result.stage is Stage.CANCELLED
    assert (await sagas.status(handle)).holds[0].decision == "cancelled"


async def test_temporal_cancellation_is_shielded_and_ends_canceled(sagas):
    from temporalio.client import WorkflowFailureError

    deal_id = sagas.new_deal(FULL)
    sagas.sim.fault(**slow("netsuite", "POST", "*/!transform/invoice"))
    handle = await sagas.start(deal_id)
    await sagas.wait_for(handle, lambda s: s.step(ERP_INVOICE) is not None)
    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    status = await sagas.status(handle)
    assert (await handle.describe()).status is WorkflowExecutionStatus.CANCELED
    assert [c.step for c in status.compensations] == [ERP_INVOICE, WRITE_BACK, ORDER]
    assert one(sagas.sim, "netsuite", "creditMemo", "externalId", f"{wid(deal_id)}:credit_erp_invoice")


async def test_transient_errors_are_retried_and_counted(sagas):
    deal_id = sagas.new_deal(["IMPL-STD"])
    sagas.sim.fault(system="netsuite", kind="error", method="PUT", path="/services/rest/record/v1/customer/*", count=2)
    result = await sagas.finish(await sagas.start(deal_id), "transient_retried")
    assert result.stage is Stage.COMPLETED
    status = await sagas.status(sagas.client.get_workflow_handle(wid(deal_id)))
    assert status.step("upsert_customer").attempts == 3


async def test_a_429_delays_the_next_attempt_by_its_retry_after(sagas):
    deal_id = sagas.new_deal(["PLAT-PRO"])
    sagas.sim.fault(system="stripe", kind="rate_limit", method="POST", path="/v1/subscriptions", retry_after=9, count=1)
    handle = await sagas.start(deal_id)
    result = await sagas.finish(handle, "rate_limited")
    assert result.stage is Stage.COMPLETED
    history = await handle.fetch_history()
    scheduled = {e.event_id: e for e in history.events if e.HasField("activity_task_scheduled_event_attributes")}
    subscribe = next(
        e
        for e in scheduled.values()
        if e.activity_task_scheduled_event_attributes.activity_type.name == "billing.subscribe"
    )
    started = next(
        e
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
        and e.activity_task_started_event_attributes.scheduled_event_id == subscribe.event_id
    )
    assert started.activity_task_started_event_attributes.attempt == 2
    waited = started.event_time.ToDatetime() - subscribe.event_time.ToDatetime()
    assert waited >= timedelta(seconds=9), waited


async def test_entitlement_on_order_provisions_before_invoicing(sagas):
    deal_id = sagas.new_deal(FULL)
    handle = await sagas.start(deal_id, SagaPolicy(entitlement_gate=EntitlementGate.ON_ORDER))
    assert (await sagas.finish(handle)).stage is Stage.COMPLETED
    names = [s.name for s in (await sagas.status(handle)).steps]
    assert names.index(ENTITLEMENT) < names.index(ERP_INVOICE)


async def test_the_customers_region_picks_the_policy(sagas):
    from models.common import Region

    policies = {Region.EMEA: SagaPolicy(entitlement_gate=EntitlementGate.ON_ORDER)}
    for deal_id, first in ((sagas.new_deal(FULL, currency="EUR"), ENTITLEMENT), (sagas.new_deal(FULL), ERP_INVOICE)):
        handle = await sagas.start(deal_id, policies=policies)
        assert (await sagas.finish(handle)).stage is Stage.COMPLETED
        names = [s.name for s in (await sagas.status(handle)).steps]
        assert min((ENTITLEMENT, ERP_INVOICE), key=names.index) == first


def test_regional_policies_come_from_the_environment(monkeypatch):
    from infra.settings import Q2CSettings
    from models.common import Region

    monkeypatch.setenv("Q2C_POLICIES", '{"emea": {"credit_hold_deadline": "P2D", "on_hold_expiry": "approve"}}')
    policy = Q2CSettings().policies[Region.EMEA]
    assert policy.credit_hold_deadline == timedelta(days=2) and policy.on_hold_expiry == "approve"
    assert policy.entitlement_gate is EntitlementGate.ON_INVOICE


async def test_cancel_before_validation_writes_nothing(sagas):
    """A cancel that arrives with the start (signal-with-start) stops the saga before its first step."""
    from models.saga import SagaInput
    from workflows.quote_to_cash import QuoteToCash

    deal_id = sagas.new_deal(FULL)
    saga = SagaInput(deal_id=deal_id, correlation_id="c", triggered_by="test")
    handle = await sagas.client.start_workflow(
        QuoteToCash.run,
        saga,
        id=wid(deal_id),
        task_queue=sagas.task_queue,
        start_signal="cancel",
        start_signal_args=[CancelRequest(requested_by="ops", reason="closed by mistake")],
    )
    result = await sagas.finish(handle, "cancel_before_validation")
    assert result.stage is Stage.CANCELLED and result.compensations == []
    assert (await sagas.status(handle)).steps == []
    assert deal_properties(sagas.sim, deal_id)["q2c_status"] == "cancelled"


async def test_erp_calls_run_on_their_own_rate_limited_queue(env, sim, adapters):
    import uuid

    from tests.conftest import Sagas
    from workers.worker import activities_for, build_worker, erp_queue

    task_queue = f"q2c-erp-test-{uuid.uuid4().hex[:8]}"
    workers = build_worker(env.client, task_queue, activities_for(*adapters), erp_activities_per_second=7.5)
    assert workers.erp.config()["max_task_queue_activities_per_second"] == 7.5
    assert workers.erp.task_queue == erp_queue(task_queue) == f"{task_queue}-erp"
    async with workers:
        sagas = Sagas(env.client, task_queue, sim)
        handle = await sagas.start(sagas.new_deal(FULL))
        assert (await handle.result()).stage is Stage.COMPLETED
    events = [e.activity_task_scheduled_event_attributes for e in (await handle.fetch_history()).events]
    scheduled = {a.activity_type.name: a.task_queue.name for a in events if a.activity_type.name}
    erp = {name for name in scheduled if name.startswith("erp.")}
    assert {"erp.resolve_products", "erp.check_credit", "erp.create_sales_order", "erp.invoice_order"} <= erp
    assert all(scheduled[name] == f"{task_queue}-erp" for name in erp)
    assert all(queue == task_queue for name, queue in scheduled.items() if name not in erp)
