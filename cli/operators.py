"""Commands for operators (revenue and finance operations): read a saga, decide, reconcile.

A saga is named by its deal (`1234`, of the configured CRM), `crm:deal` (`hubspot:1234`) or its workflow id
(`q2c-hubspot-1234`).
"""

from __future__ import annotations

import asyncio
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
    SagaLike,
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
RATE = typer.Option(
    None, help="with --query: at most this many sagas a second (default 5; with --batch, the server's limit)"
)
BATCH = typer.Option(
    False,
    "--batch",
    help="with --query: one Temporal batch job signals every match at the server's rate. Much faster, but no "
    "saga's answer is printed: a saga where the decision does not apply ignores it and records it as refused "
    "(q2c status). Prints the job id; follow it with q2c batch status JOB. The same command twice starts one job.",
)
BY_DEFAULT = 5.0


def _send(name: str, decision: Callable[[SagaClient], Awaitable[Answer]]) -> None:
    """Send an operator's decision (a Workflow Update) and print the saga's answer; exit 1 if refused."""

    async def send() -> bool:
        answer = await decision(await sagas())
        console.print(f"sent {name} to {answer.workflow_id}: " + render.answer(answer), markup=False)
        return answer.accepted

    if not run(send):
        raise typer.Exit(1)


Decide = Callable[[SagaClient, SagaLike], Awaitable[Answer]]


def _bulk(name: str, query: str, decide: Decide, per_second: float) -> None:
    """One decision for every matching saga, at a bounded rate, each answer printed; exit 1 if any refused."""
    from client.operations import each_matching

    async def send_all() -> tuple[int, int]:
        client = await sagas()
        accepted = refused = 0
        async for workflow_id, answer in each_matching(
            client.client, query, lambda wid: decide(client, wid), per_second=per_second
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


def _batch(name: str, query: str, by: str, reason: str, per_second: float | None) -> None:
    """The decision as one Temporal batch job (a signal to every running match); prints how to follow it."""
    from client.batch import BatchRefused, send, shown

    async def start() -> None:
        try:
            sent = await send(await temporal(), name, query, by, reason, per_second=per_second)
        except BatchRefused as error:
            console.print(str(error), markup=False)
            raise typer.Exit(1) from None
        job = sent.job.job_id
        said = "started" if sent.new else "already started by the same decision (nothing new started):"
        console.print(f"{name}: batch job {said} {job}", markup=False)
        console.print(shown(sent.job), markup=False)
        console.print(f"follow it: q2c batch status {job} --wait   (or: temporal batch describe --job-id {job})")
        console.print("each saga records the decision, accepted or refused, in q2c status; no answer is printed")
        if not sent.new:
            console.print("to send it again over the sagas matching now, give another --reason", markup=False)

    run(start)


def _decider(action: str, by: str, reason: str) -> Decide:
    if action in (APPROVE_CREDIT, REJECT_CREDIT):
        credit = SagaClient.approve_credit if action == APPROVE_CREDIT else SagaClient.reject_credit
        return lambda client, saga: credit(client, saga, by, reason)
    return lambda client, saga: client.decide(saga, action, by, reason)


def _one_or_all(
    action: str, saga: SagaRef | None, query: str | None, batch: bool, rate: float | None, by: str, reason: str
) -> None:
    if (saga is None) == (query is None):
        raise typer.BadParameter("name one saga, or give --query (not both)")
    if batch and query is None:
        raise typer.BadParameter("--batch goes with --query")
    decide = _decider(action, by, reason)
    if query is not None and batch:
        _batch(action, query, by, reason, rate)
    elif query is not None:
        _bulk(action, query, decide, rate or BY_DEFAULT)
    else:
        assert saga is not None
        _send(action, lambda client: decide(client, saga))


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


DECISIONS = (
    ("approve-credit", APPROVE_CREDIT, "Release a credit-review hold (or every --query match's): the order goes on."),
    ("reject-credit", REJECT_CREDIT, "Reject a credit-review hold (or every --query match's): compensate and end."),
    ("cancel", CANCEL, "Cancel a saga (or all matching --query): completed steps are undone in reverse order."),
    ("retry", RETRY, "Run a parked saga's step again (or every matching --query's), once the cause is fixed."),
    ("skip", SKIP, "Go on without a parked step, where the step allows it (e.g. it was done by hand)."),
    ("compensate", COMPENSATE, "Give up on a parked step: undo what was done and end (or every --query match's)."),
)


def _decision(name: str, action: str, summary: str) -> None:
    """One operator decision as a command: on one saga, or on every saga a visibility query matches (one
    Workflow Update at a time, each answer printed; or, with --batch, one Temporal batch job of signals)."""
    who = "--approver" if action in (APPROVE_CREDIT, REJECT_CREDIT) else "--by"

    def decide(
        saga: SagaRef | None = OPTIONAL_SAGA,
        query: str | None = QUERY,
        by: str = typer.Option(user(), who, help="who decides, for the saga's record"),
        reason: str = typer.Option(""),
        rate: float | None = RATE,
        batch: bool = BATCH,
    ) -> None:
        _one_or_all(action, saga, query, batch, rate, by, reason)

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


batch_jobs = typer.Typer(
    help="Batch jobs of --batch decisions: fast, but no saga's answer (each saga records it, accepted or refused).",
    no_args_is_help=True,
)
app.add_typer(batch_jobs, name="batch")


@batch_jobs.command("status")
def batch_status(
    job: str = typer.Argument(..., metavar="JOB", help="the job id a --batch decision printed"),
    wait: bool = typer.Option(False, "--wait", help="poll until the job is done, printing its progress"),
) -> None:
    """A batch job's progress (DescribeBatchOperation): state, sagas signalled of the total, failures.
    Exit 1 if the job failed or a signal could not be sent, 2 if there is no such job."""
    from client.batch import BatchJob, BatchNotFound, describe, shown

    async def show() -> BatchJob:
        client = await temporal()
        try:
            job_now = await describe(client, job)
            while wait and not job_now.done:
                console.print(shown(job_now), markup=False)
                await asyncio.sleep(1)
                job_now = await describe(client, job)
        except BatchNotFound as error:
            console.print(str(error), markup=False)
            raise typer.Exit(2) from None
        console.print(shown(job_now), markup=False)
        return job_now

    done = run(show)
    raise typer.Exit(1 if done.state == "failed" or done.failed else 0)
