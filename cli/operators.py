"""Commands for operators (revenue and finance operations): read a saga, decide, reconcile.

A saga is named by its deal (`1234`, of the configured CRM), `crm:deal` (`hubspot:1234`) or its workflow id
(`q2c-hubspot-1234`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

import typer

from cli import render
from cli.common import console, run, saga_ref, sagas, settings, temporal, user
from client.sagas import (
    APPROVE_CREDIT,
    CANCEL,
    COMPENSATE,
    REJECT_CREDIT,
    RETRY,
    SKIP,
    SagaClient,
    SagaRef,
)

app = typer.Typer()
SAGA = typer.Argument(
    ..., parser=saga_ref, metavar="SAGA", show_default=False, help="the deal: 1234, hubspot:1234 or q2c-hubspot-1234"
)


def _send(name: str, decision: Callable[[SagaClient], Awaitable[str]]) -> None:
    """Send an operator's decision to the saga; say which saga got it."""

    async def send() -> None:
        workflow_id = await decision(await sagas())
        console.print(f"sent {name} to {workflow_id}")

    run(send)


@app.command()
def start(saga: SagaRef = SAGA, by: str = typer.Option(user(), help="who starts it, for the record")) -> None:
    """Start the saga for a closed-won deal (joins the running one if there is one)."""

    async def go() -> None:
        client = await sagas()
        started = await client.start(
            saga.deal_id, triggered_by=f"cli:{by}", correlation_id=f"cli-{uuid.uuid4()}", crm=saga.crm
        )
        console.print(f"{'started' if started.new else 'already there:'} {started.workflow_id}")

    run(go)


@app.command()
def status(saga: SagaRef = SAGA, as_json: bool = typer.Option(False, "--json", help="print the raw status")) -> None:
    """Show a saga's business status: stage, hold, steps, external ids, compensations, error."""

    async def show() -> None:
        current = await (await sagas()).status(saga)
        if as_json:
            console.print_json(current.model_dump_json())
        else:
            console.print(render.status(current))

    run(show)


@app.command("approve-credit")
def approve_credit(saga: SagaRef = SAGA, approver: str = typer.Option(user()), reason: str = typer.Option("")) -> None:
    """Release a credit-review hold."""
    _send(APPROVE_CREDIT, lambda c: c.approve_credit(saga, approver, reason))


@app.command("reject-credit")
def reject_credit(saga: SagaRef = SAGA, approver: str = typer.Option(user()), reason: str = typer.Option("")) -> None:
    """Reject a credit-review hold: the saga compensates and ends."""
    _send(REJECT_CREDIT, lambda c: c.reject_credit(saga, approver, reason))


@app.command()
def cancel(saga: SagaRef = SAGA, by: str = typer.Option(user()), reason: str = typer.Option("")) -> None:
    """Cancel a saga: completed steps are undone in reverse order."""
    _send(CANCEL, lambda c: c.cancel(saga, by, reason))


@app.command()
def retry(saga: SagaRef = SAGA, by: str = typer.Option(user()), reason: str = typer.Option("")) -> None:
    """Run a parked saga's step again, once its data is fixed."""
    _send(RETRY, lambda c: c.retry(saga, by, reason))


@app.command()
def skip(saga: SagaRef = SAGA, by: str = typer.Option(user()), reason: str = typer.Option("")) -> None:
    """Go on without a parked step, where the step allows it (e.g. it was done by hand)."""
    _send(SKIP, lambda c: c.skip(saga, by, reason))


@app.command()
def compensate(saga: SagaRef = SAGA, by: str = typer.Option(user()), reason: str = typer.Option("")) -> None:
    """Give up on a parked step: undo what the saga did and end it."""
    _send(COMPENSATE, lambda c: c.compensate(saga, by, reason))


@app.command()
def exceptions() -> None:
    """Parked sagas, grouped by error class, oldest first: what needs a person."""
    from client.operations import PARKED_QUERY

    async def show() -> None:
        grouped = await (await sagas()).parked()
        if not grouped:
            console.print("no saga is waiting for an operator")
            return
        for code, parked in grouped.items():
            console.print(render.parked(code, parked))
        console.print(f'the same with Temporal\'s CLI: temporal workflow list --query "{PARKED_QUERY}"')

    run(show)


@app.command()
def reconcile(
    since: str = typer.Option(None, help="first close date (YYYY-MM-DD); default: --window-days back"),
    until: str = typer.Option(None, help="last close date (YYYY-MM-DD); default: today"),
    window_days: int = typer.Option(30),
    repair: bool = typer.Option(False, help="start missing sagas, cancel leftovers, refresh support data"),
    report: Path = typer.Option(None, help="write the report here as JSON, and a table beside it (.txt)"),
) -> None:
    """Compare CRM, ERP, billing and support for closed-won deals now; exit 1 if there is drift."""
    from client.operations import reconcile_now, report_table
    from models.reconcile import ReconcileInput, ReconciliationReport

    config = settings()
    job = ReconcileInput(
        since=date.fromisoformat(since) if since else None,
        until=date.fromisoformat(until) if until else None,
        window_days=window_days,
        repair=repair,
        task_queue=config.task_queue,
        policies=config.policies,
    )

    async def check() -> ReconciliationReport:
        return await reconcile_now(await temporal(), job, config.task_queue)

    done = run(check)
    table = report_table(done)
    console.print(table, markup=False, highlight=False)
    if report:
        report.write_text(done.model_dump_json(indent=1))
        report.with_suffix(".txt").write_text(table + "\n")
        console.print(f"wrote {report} and {report.with_suffix('.txt')}")
    raise typer.Exit(0 if done.clean else 1)
