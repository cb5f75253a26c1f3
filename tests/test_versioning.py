"""Worker Deployment Versioning on Temporal's dev server: a v1 and a v2 worker side by side; a saga started on v1
stays pinned to it and finishes there after v2 is made current, while new sagas start on v2; v1 then drains."""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from client.sagas import SagaClient
from connectors.registry import Adapters
from models.saga import Stage
from tests.conftest import Sagas, Sim
from workers.versioning import deployment, drainage, set_current
from workers.worker import activities_for, build_worker


async def build_id_of(handle: WorkflowHandle[Any, Any]) -> str:
    """The deployment version the saga is pinned to (or last ran on), as the server records it."""
    info = (await handle.describe()).raw_description.workflow_execution_info.versioning_info
    return str(info.deployment_version.build_id)


async def test_a_saga_started_on_v1_finishes_on_v1_while_new_ones_start_on_v2(
    dev_env: WorkflowEnvironment, sim: Sim, adapters: Adapters
) -> None:
    client: Client = dev_env.client
    task_queue = f"q2c-versions-{uuid.uuid4().hex[:8]}"
    sagas = Sagas(client, task_queue, sim)
    v1, v2 = f"v1-{task_queue}", f"v2-{task_queue}"
    over = sim.store.require("hubspot", "deals", sim.manifest["deals"]["over_credit"][0])
    activities = activities_for(*adapters)
    async with build_worker(client, task_queue, activities, deployment_config=deployment(v1)):
        await set_current(client, v1)
        old = await sagas.start(sagas.new_deal(["PLAT-ENT"], company=over["associations"]["companies"][0]))
        await sagas.wait_for(old, lambda s: s.stage is Stage.ON_HOLD, within=60)  # parked for weeks, say

        async with build_worker(client, task_queue, activities, deployment_config=deployment(v2)):
            await set_current(client, v2)  # the deploy: new sagas start on v2
            new = await sagas.start(sagas.new_deal(["IMPL-STD"]))
            assert (await sagas.finish(new)).stage is Stage.COMPLETED
            assert await build_id_of(new) == v2

            assert (await SagaClient(client, task_queue=task_queue).approve_credit(old.id, "controller")).accepted
            assert (await sagas.finish(old)).stage is Stage.COMPLETED
            assert await build_id_of(old) == v1  # pinned: it never moved to v2
            assert await drainage(client, v1) in ("draining", "drained")  # v1 may now be stopped once drained
