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
    Answer,
    SagaClient,
    SagaRef,
)

app = typer.Typer()
SAGA = typer.Argument(
    ..., parser=saga_ref, metavar="SAGA", show_default=False, help="the deal: 1234, hubspot:1234 or q2c-hubspot-1234"
)


QUERY = typer.Option(
    None,
    "--query",
    "-q",
    help="instead of one saga: every saga this visibility query matches, e.g. \"Q2CHold='exception:credentials'\"",
)
RATE = typer.Option(5.0, help="with --query: at most this many sagas a second")


def _send(name: str, decision: Callable[[SagaClient], Awaitable[Answer]]) -> None:
    """Send an operator's decision (a Workflow Update) and print the saga's answer; exit 1 if refused."""

    async def send() -> bool:
        answer = await decision(await sagas())
        console.print(f"sent {name} to {answer.workflow_id}: " + render.answer(answer), markup=False)
        return answer.accepted

    if not run(send):
        raise typer.Exit(1)


def _bulk(name: str, query: str, by: str, reason: str, per_second: float) -> None:
    """One decision for every matching saga, at a bounded rate, each answer printed; exit 1 if any refused."""
    from client.operations import each_matching

    async def send_all() -> tuple[int, int]:
        client = await sagas()
        accepted = refused = 0
        async for workflow_id, answer in each_matching(
            client.client, query, lambda wid: client.decide(wid, name, by, reason), per_second=per_second
        ):
            ok = isinstance(answer, Answer) and answer.accepted
            accepted, refused = accepted + ok, refused + (not ok)
            shown = render.answer(answer) if isinstance(answer, Answer) else f"error: {answer}"
            console.print(f"{name} {workflow_id}: {shown}", markup=False)
        console.print(f"{name}: {accepted} accepted, {refused} refused or failed (query: {query})", markup=False)
        return accepted, refused

    _, refused = run(send_all)
    if refused:
        raise typer.Exit(1)


def _one_or_all(name: str, saga: SagaRef | None, query: str | None, by: str, reason: str, per_second: float) -> None:
    if (saga is None) == (query is None):
        raise typer.BadParameter("name one saga, or give --query (not both)")
    if query is not None:
        _bulk(name, query, by, reason, per_second)
    else:
        assert saga is not None
        _send(name, lambda c: c.decide(saga, name, by, reason))


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


OPTIONAL_SAGA = typer.Argument(
    None, parser=saga_ref, metavar="SAGA", show_default=False, help="the deal (or use --query for many)"
)


@app.command()
def status(saga: SagaRef = SAGA, as_json: bool = typer.Option(False, "--json", help="print the raw status")) -> None:
    """Show a saga's business status: stage, hold or exception, steps (the running one's attempt, last
    error and next try, from Temporal), external ids, compensations, error."""

    async def show() -> None:
        client = await sagas()
        current = await client.status(saga)
        if as_json:
            console.print_json(current.model_dump_json())
        else:
            console.print(render.status(current, await client.progress(saga)))

    run(show)


@app.command("approve-credit")
def approve_credit(saga: SagaRef = SAGA, approver: str = typer.Option(user()), reason: str = typer.Option("")) -> None:
    """Release a credit-review hold."""
    _send(APPROVE_CREDIT, lambda c: c.approve_credit(saga, approver, reason))


@app.command("reject-credit")
def reject_credit(saga: SagaRef = SAGA, approver: str = typer.Option(user()), reason: str = typer.Option("")) -> None:
    """Reject a credit-review hold: the saga compensates and ends."""
    _send(REJECT_CREDIT, lambda c: c.reject_credit(saga, approver, reason))


DECISIONS = (
    ("cancel", CANCEL, "Cancel a saga (or all matching --query): completed steps are undone in reverse order."),
    ("retry", RETRY, "Run a parked saga's step again (or every matching --query's), once the cause is fixed."),
    ("skip", SKIP, "Go on without a parked step, where the step allows it (e.g. it was done by hand)."),
    (
        "compensate",
        COMPENSATE,
        "Give up on a parked step: undo what the saga did and end it (or every matching --query's).",
    ),
)


def _decision(name: str, action: str, summary: str) -> None:
    """One operator decision as a command: on one saga, or on every saga a visibility query matches."""

    def decide(
        saga: SagaRef | None = OPTIONAL_SAGA,
        query: str | None = QUERY,
        by: str = typer.Option(user()),
        reason: str = typer.Option(""),
        rate: float = RATE,
    ) -> None:
        _one_or_all(action, saga, query, by, reason, rate)

    decide.__doc__ = summary
    app.command(name)(decide)


for _name, _action, _summary in DECISIONS:
    _decision(_name, _action, _summary)


@app.command()
def exceptions(query: str | None = typer.Option(None, "--query", "-q", help="narrow with a visibility query")) -> None:
    """Parked sagas, grouped by exception code and system, oldest first: what needs a person."""
    from client.operations import PARKED_QUERY

    async def show() -> None:
        grouped = await (await sagas()).parked(query)
        if not grouped:
            console.print("no saga is waiting for an operator")
            return
        for (code, system), parked in grouped.items():
            console.print(render.parked(code, system, parked))
            console.print(
                f"  all of them: q2c retry --query \"Q2CHold='exception:{code}'\"  (or skip / compensate)",
                markup=False,
            )
        console.print(f'the same with Temporal\'s CLI: temporal workflow list --query "{PARKED_QUERY}"', markup=False)

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
    contracts = f"not listed: {done.contracts_unlisted}" if done.contracts_unlisted else "checked against billing"
    console.print(f"running contracts {contracts} ({done.contracts_checked} in their own pages)", markup=False)
    if report:
        report.write_text(done.model_dump_json(indent=1))
        report.with_suffix(".txt").write_text(table + "\n")
        console.print(f"wrote {report} and {report.with_suffix('.txt')}")
    raise typer.Exit(0 if done.clean else 1)
