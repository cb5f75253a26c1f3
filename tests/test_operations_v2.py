"""Operations v2 on Temporal's real dev server: nothing stuck unseen (a 401/403 parks the saga, visible by
query and in the exception list, and it completes after the fault goes and a bulk retry, nothing undone or
written twice), and operator decisions as Workflow Updates (refused with the reason before anything is written).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.errors import to_application_error
from client.operations import each_matching, parked_groups
from client.sagas import Answer, SagaClient
from connectors.errors import InternalError, NotFound, Unauthorized
from models.saga import SagaPolicy, Stage, StepState
from tests.conftest import Sagas

# a retryable error parks after 3 attempts; a parked step is re-tried by itself only after the test is over
PATIENT = SagaPolicy(step_attempts=3, step_patience=timedelta(minutes=5), recheck_every=timedelta(hours=1))


@pytest.fixture
def ts_env(dev_env: WorkflowEnvironment) -> WorkflowEnvironment:
    """`sagas` on the dev server: visibility queries need a real one."""
    return dev_env


def one(sagas: Sagas, system: str, kind: str, field: str, value: str) -> dict[str, Any]:
    found = sagas.sim.store.find(system, kind, field, value)
    assert len(found) == 1, f"{system} {kind} with {field}={value}: {len(found)} records"
    return found[0]


async def listed(client: Client, query: str, workflow_id: str) -> bool:
    """Visibility is eventually consistent: the saga shows in the query's answer within a few seconds."""
    for _ in range(100):
        if workflow_id in [e.id async for e in client.list_workflows(query)]:
            return True
        await asyncio.sleep(0.1)
    return False


# system, fault status, the step that parks, the code it parks with
FAULTS = [
    ("hubspot", 401, "fetch_deal", "credentials"),  # a local activity
    ("netsuite", 403, "resolve_products", "permission_denied"),
    ("stripe", 401, "resolve_prices", "credentials"),  # a local activity
    ("zendesk", 403, "provision_entitlement", "permission_denied"),  # after the order and the invoices
]


@pytest.mark.parametrize(("system", "status", "step", "code"), FAULTS, ids=[f[0] for f in FAULTS])
async def test_a_refused_credential_parks_visibly_and_a_bulk_retry_completes_it(
    sagas: Sagas, system: str, status: int, step: str, code: str
) -> None:
    deal_id = sagas.new_deal(["PLAT-PRO", "IMPL-STD"])
    sagas.sim.fault(system=system, kind="error", status=status, code="AUTH", message=f"{status} from the test")
    handle = await sagas.start(deal_id, policy=PATIENT)
    parked = await sagas.wait_for(handle, lambda s: s.stage is Stage.NEEDS_ATTENTION, within=60)
    assert parked.exception is not None
    assert (parked.exception.code, parked.exception.step, parked.exception.error.system) == (code, step, system)
    assert f"{status} from the test" in parked.exception.error.message
    assert parked.compensations == [] and parked.exception.next_recheck is not None

    query = f"Q2CHold = 'exception:{code}'"
    assert await listed(sagas.client, f"WorkflowType = 'QuoteToCash' AND {query}", handle.id)
    grouped = await parked_groups(sagas.client, f"WorkflowId = '{handle.id}'")
    assert [s.workflow_id for s in grouped[(code, system)]] == [handle.id]

    sagas.sim.store.clear_faults()
    client = SagaClient(sagas.client, task_queue=sagas.task_queue)
    answers = [
        (wid, answer)
        async for wid, answer in each_matching(
            sagas.client, f"{query} AND WorkflowId = '{handle.id}'", lambda w: client.retry(w, "ops", "token renewed")
        )
    ]
    assert [(wid, isinstance(a, Answer) and a.accepted) for wid, a in answers] == [(handle.id, True)]

    result = await sagas.finish(handle, f"parked_{code}_at_{system}_then_bulk_retry")
    assert result.stage is Stage.COMPLETED and result.compensations == [] and result.error is None
    wid = handle.id
    one(sagas, "netsuite", "salesOrder", "externalId", f"{wid}:create_order")
    one(sagas, "netsuite", "invoice", "externalId", f"{wid}:invoice_erp")
    subscriptions = [
        s for s in sagas.sim.records("stripe", "subscription") if s["metadata"].get("q2c_workflow_id") == wid
    ]
    assert len(subscriptions) == 1
    done = await sagas.status(handle)
    assert [d.action for d in done.decisions] == ["retry"] and done.exception is None


async def test_a_parked_step_resumes_by_itself_once_the_cause_is_gone(sagas: Sagas) -> None:
    deal_id = sagas.new_deal(["IMPL-STD"])
    sagas.sim.fault(system="zendesk", kind="error", status=401, code="AUTH", message="token revoked")
    policy = PATIENT.model_copy(update={"recheck_every": timedelta(seconds=1)})
    handle = await sagas.start(deal_id, policy=policy)
    parked = await sagas.wait_for(handle, lambda s: s.exception is not None and s.exception.rechecks >= 1, within=60)
    assert parked.exception is not None and parked.exception.code == "credentials"
    sagas.sim.store.clear_faults()
    result = await sagas.finish(handle, "parked_credentials_resumed_by_itself")
    done = await sagas.status(handle)
    assert result.stage is Stage.COMPLETED and result.compensations == [] and done.decisions == []


async def test_a_retryable_error_past_the_policy_parks_and_status_shows_the_attempts(sagas: Sagas) -> None:
    deal_id = sagas.new_deal(["IMPL-STD"])
    sagas.sim.fault(system="zendesk", kind="error", status=503, message="zendesk is down")
    handle = await sagas.start(deal_id, policy=PATIENT.model_copy(update={"step_attempts": 4}))
    client = SagaClient(sagas.client, task_queue=sagas.task_queue)
    for _ in range(200):  # while Temporal retries it: the attempt, the last error and the next try
        running = [a for a in await client.progress(handle.id) if a.attempt >= 2]
        if running:
            break
        await asyncio.sleep(0.05)
    assert running and "zendesk is down" in running[0].last_error and running[0].next_try is not None
    parked = await sagas.wait_for(handle, lambda s: s.stage is Stage.NEEDS_ATTENTION, within=60)
    assert parked.exception is not None and parked.exception.code == "vendor_unavailable"
    assert parked.step("provision_entitlement").state is StepState.FAILED  # type: ignore[union-attr]
    sagas.sim.store.clear_faults()
    assert (await client.retry(handle.id, "ops", "zendesk is back")).accepted
    assert (await sagas.finish(handle, "parked_vendor_unavailable_then_retry")).stage is Stage.COMPLETED


async def test_a_refused_update_says_why_and_writes_nothing_while_the_signal_still_records_it(sagas: Sagas) -> None:
    over = sagas.sim.store.require("hubspot", "deals", sagas.sim.manifest["deals"]["over_credit"][0])
    deal_id = sagas.new_deal(["PLAT-ENT"], company=over["associations"]["companies"][0])
    handle = await sagas.start(deal_id)
    await sagas.wait_for(handle, lambda s: s.stage is Stage.ON_HOLD)
    client = SagaClient(sagas.client, task_queue=sagas.task_queue)

    refused = await client.retry(handle.id, "ops", "nothing to retry")
    assert (refused.accepted, refused.reason) == (False, "nothing is parked")
    assert (await sagas.status(handle)).decisions == []  # the validator refused: nothing written

    await handle.signal("retry", {"by": "ops", "reason": "by signal"})  # the signal of the same name stays
    recorded = await sagas.wait_for(handle, lambda s: len(s.decisions) == 1)
    assert (recorded.decisions[0].accepted, recorded.decisions[0].note) == (False, "nothing is parked")

    approved = await client.approve_credit(handle.id, "controller", "prepaid")
    assert approved.accepted and approved.decision is not None and approved.decision.action == "approve_credit"
    again = await client.reject_credit(handle.id, "controller", "changed my mind")
    assert not again.accepted and again.reason in ("already approved by controller", "nothing is on hold")
    assert (await sagas.finish(handle, "operator_updates_refused_then_approved")).stage is Stage.COMPLETED
    ended = await client.cancel(handle.id, "ops", "too late")
    assert not ended.accepted and ended.reason


def test_a_404_on_a_route_is_an_endpoint_missing_but_on_a_record_a_business_refusal() -> None:
    route = to_application_error(NotFound("zendesk", "GET /api/v2/x -> 404", code="InvalidEndpoint", status=404))
    bare = to_application_error(NotFound("hubspot", "GET /crm/v9/deals -> 404", code=None, status=404))
    record = to_application_error(NotFound("stripe", "no such price", code="resource_missing", status=404))
    assert (route.type, route.non_retryable) == ("EndpointMissing", False)
    assert bare.type == "EndpointMissing"
    assert (record.type, record.non_retryable) == ("resource_missing", True)
    assert to_application_error(Unauthorized("netsuite", "403", code="http_403", status=403)).type == "PermissionDenied"
    assert to_application_error(InternalError("stripe", "POST /v1/x", "bad header")).type == "InternalError"


async def test_the_temporal_ui_shows_the_summary_the_current_details_and_each_activitys_summary(sagas: Sagas) -> None:
    deal_id = sagas.new_deal(["IMPL-STD"])
    sagas.sim.fault(system="zendesk", kind="error", status=403, message="permission removed")
    handle = await sagas.start(deal_id, policy=PATIENT)
    parked = await sagas.wait_for(handle, lambda s: s.stage is Stage.NEEDS_ATTENTION, within=60)
    described = await handle.describe()
    assert await described.static_summary() == f"deal hubspot:{deal_id}"
    metadata = await handle.query("__temporal_workflow_metadata")
    current = metadata.current_details
    assert "exception:permission_denied" in current and "permission removed" in current
    assert "To do: restore the integration user's permission" in current
    assert "| provision_entitlement | failed |" in current and parked.customer_id in current
    sagas.sim.store.clear_faults()
    await SagaClient(sagas.client, task_queue=sagas.task_queue).retry(handle.id, "ops")
    await sagas.finish(handle)
    summaries = set()
    converter = sagas.client.data_converter.payload_converter
    async for event in handle.fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes") and event.user_metadata.HasField("summary"):
            summaries.add(converter.from_payloads([event.user_metadata.summary])[0])
        if event.HasField("marker_recorded_event_attributes") and event.user_metadata.HasField("summary"):
            summaries.add(converter.from_payloads([event.user_metadata.summary])[0])
    assert f"create_order · deal hubspot:{deal_id}" in summaries
    assert f"provision_entitlement · deal hubspot:{deal_id}" in summaries
