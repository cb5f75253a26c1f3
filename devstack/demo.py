"""`q2c demo`: the embedded stack, 28 deals closed in the CRM, every outcome checked in every system.

The story is in `devstack.scenarios`, the checks in `devstack.checks`; this module runs them and shows them.
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
from pathlib import Path

import httpx
from rich.console import Console
from rich.live import Live
from rich.table import Table

from client.sagas import SagaClient
from connectors.roles import Roles
from devstack import checks
from devstack.scenarios import DEMO_POLICIES, DRIVERS, Scenario, plan, plan_side_by_side, play_the_people, set_the_stage
from devstack.stack import Stack
from infra.codec import KeyRing
from infra.settings import Q2CSettings
from models.saga import TASK_QUEUE

DEADLINE_S = 180


async def run_demo(console: Console, home: Path = Path(".q2c/demo"), crms: tuple[str, ...] = ()) -> int:
    """`crms`: the CRMs whose deals play the parts (the configured ones, `Q2C_CRM`/`Q2C_CRMS`, if empty);
    with two, the parts are shared out and both run side by side on one worker."""
    console.print("[bold]q2c demo[/bold]: starting Temporal's dev server, the simulators, the ingress and a worker")
    roles = Roles(crm=crms[0], crms=crms) if crms else Roles()
    served = roles.crm_names()
    token = secrets.token_urlsafe(16)
    stack = Stack(
        home=home,
        fresh=True,
        settings=Q2CSettings(policies=DEMO_POLICIES),
        ring=KeyRing.generate("demo"),
        codec_token=token,
        traces=f"file:{home / 'traces.jsonl'}",
        roles=roles,
    )
    async with stack:
        assert stack.client is not None and stack.sim_app is not None
        sagas = SagaClient(stack.client, task_queue=TASK_QUEUE, policies=DEMO_POLICIES)
        manifest = stack.sim_app.state.manifest
        if len(served) > 1:
            scenarios = plan_side_by_side(stack.store, manifest, (served[0], served[1]))
        else:
            scenarios = plan(stack.store, manifest, served[0])
        console.print(
            f"Temporal UI: {stack.ui_url}   ingress: {stack.ingress_url}   simulators: {stack.simulators_url}"
        )
        async with httpx.AsyncClient(base_url=f"{stack.simulators_url}/_sim") as admin:
            await set_the_stage(admin, scenarios)
            console.print(
                f"closing {len(scenarios)} deals in the {' and '.join(served)} simulator: each tells the ingress"
            )
            for s in scenarios:
                await DRIVERS[s.crm].close_deal(admin, s.deal_id)
        await drive(console, stack, sagas, scenarios)
        checks.verify(stack, scenarios)
        paid, problems = await checks.late_payment(stack, scenarios)
        if paid:
            console.print(paid)
        for check in (checks.reconcile_twice(stack, scenarios), checks.observe(stack, sagas, scenarios)):
            shown, found = await check
            for line in shown:
                console.print(line, markup=False, highlight=False)
            for problem in found:
                console.print(f"[red]{problem}[/red]", highlight=False)
            problems += found
        console.print(
            f"payloads are encrypted; the UI decodes them through {stack.codec_url} "
            f"(open {stack.codec_url}/authorize once with token {token})"
        )
        return report(console, stack, scenarios) or int(bool(problems))


async def drive(console: Console, stack: Stack, sagas: SagaClient, scenarios: list[Scenario]) -> None:
    """Watch every saga; play the operator (and the paying customer) where the story needs one."""
    sim = httpx.AsyncClient(base_url=stack.simulators_url)
    loop = asyncio.get_running_loop()
    began = loop.time()
    with Live(console=console, refresh_per_second=4) as live:
        while True:
            running = [s for s in scenarios if not s.finished]
            # every saga's status at once: one at a time, a round can outlast a step the operator must catch
            found = await asyncio.gather(*(sagas.status(s.ref) for s in running), return_exceptions=True)
            for s, status in zip(running, found, strict=True):
                if isinstance(status, BaseException):  # not started yet: the webhook is on its way
                    continue
                s.status = status
                if not s.decided:
                    await play_the_people(s, sagas, sim)
            live.update(progress(scenarios))
            if all(s.status is not None and s.status.stage is s.expected for s in scenarios):
                break
            if loop.time() - began > DEADLINE_S:
                break
            await asyncio.sleep(0.25)
    await sim.aclose()
    for s in scenarios:
        if s.status is not None:
            description = await sagas.handle(s.ref).describe()
            if description.close_time:
                s.seconds = (description.close_time - description.start_time).total_seconds()


def progress(scenarios: list[Scenario]) -> Table:
    table = Table(title="sagas", show_edge=False)
    for column in ("stage", "count"):
        table.add_column(column)
    counts: dict[str, int] = {}
    for s in scenarios:
        stage = s.status.stage.value if s.status else "webhook in flight"
        counts[stage] = counts.get(stage, 0) + 1
    for stage, count in sorted(counts.items()):
        table.add_row(stage, str(count))
    return table


def report(console: Console, stack: Stack, scenarios: list[Scenario]) -> int:
    """The outcome table, the latency of the straight-through sagas, and the exit code."""
    table = Table(title="outcomes, checked against the simulators' records")
    for column in ("scenario", "deal", "expected", "outcome", "seconds", "compensations", "verified"):
        table.add_column(column)
    for s in scenarios:
        stage = s.status.stage.value if s.status else "-"
        undone = ", ".join(c.step for c in s.status.compensations) if s.status else ""
        table.add_row(
            s.name,
            s.deal_id,
            s.expected.value,
            stage,
            f"{s.seconds:.2f}" if s.seconds else "-",
            undone or "-",
            "[green]yes[/green]" if not s.problems else f"[red]{'; '.join(s.problems)}[/red]",
        )
    console.print(table)
    straight = [s.seconds for s in scenarios if s.seconds and "happy" in s.name]
    if len(straight) >= 2:
        cuts = statistics.quantiles(straight, n=20)
        console.print(
            f"deal-to-entitlement latency (straight-through sagas): p50 {statistics.median(straight):.2f}s, "
            f"p95 {cuts[18]:.2f}s over {len(straight)} sagas"
        )
    failed = [s for s in scenarios if s.problems]
    console.print(
        f"Temporal UI: {stack.ui_url}/namespaces/default/workflows  (it stops with the demo; "
        "`q2c dev` keeps a stack running)"
    )
    if failed:
        console.print(f"[red]{len(failed)} of {len(scenarios)} sagas did not end as expected[/red]")
        return 1
    console.print(f"[green]all {len(scenarios)} sagas ended as expected, verified in every system[/green]")
    return 0
