"""How the CLI shows sagas to a person: rich tables, nothing else."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from client.sagas import Answer, Attempt
from models.saga import ParkedStep, SagaStatus
from workflows.quote_to_cash.visibility import OTHERWISE, TO_DO


def to_do(parked: ParkedStep) -> str:
    return TO_DO.get(parked.code, OTHERWISE)


def answer(given: Answer) -> str:
    """A saga's answer to a decision, as one line."""
    return "accepted" if given.accepted else f"refused: {given.reason}"


def status(current: SagaStatus, running: list[Attempt] | None = None) -> RenderableType:
    """One saga: stage, hold or exception, steps with times and external ids (the running one's attempt, last
    error and next try from Temporal), decisions, compensations, error."""
    parts: list[RenderableType] = [
        Text.assemble(
            (current.workflow_id, "bold"),
            "  stage ",
            (current.stage.value, "bold"),
            f"  customer {current.customer_id or '-'}  amount {current.amount or '-'}",
        )
    ]
    if current.hold:
        parts.append(
            Text(
                f"on hold: {current.hold.reason} since {current.hold.since:%Y-%m-%d %H:%M} UTC, "
                f"deadline {current.hold.deadline:%Y-%m-%d %H:%M} UTC: {current.hold.detail}"
            )
        )
    if current.exception:
        parked = current.exception
        parts.append(
            Text(
                f"parked: exception:{parked.code} at {parked.step} ({parked.error.system or '-'}) since "
                f"{parked.since:%Y-%m-%d %H:%M} UTC: {parked.error.message}\n  to do: {to_do(parked)}"
                + (f"\n  tried again by itself at {parked.next_recheck:%H:%M:%S} UTC" if parked.next_recheck else ""),
                style="yellow",
            )
        )
    for attempt in running or []:
        next_try = f"{attempt.next_try:%H:%M:%S} UTC" if attempt.next_try else "-"
        parts.append(
            Text(
                f"running {attempt.activity}: {attempt.state}, attempt {attempt.attempt}, next try {next_try}"
                + (f", last error: {attempt.last_error}" if attempt.last_error else "")
            )
        )
    steps = Table("step", "state", "attempts", "started", "finished", "external id")
    for step in current.steps:
        steps.add_row(
            step.name,
            step.state.value,
            str(step.attempts),
            f"{step.started_at:%H:%M:%S}",
            f"{step.finished_at:%H:%M:%S}" if step.finished_at else "-",
            step.external_id or "-",
        )
    parts.append(steps)
    parts += [
        Text(f"hold {hold.reason}: {hold.decision} by {hold.decided_by} ({hold.note})")
        for hold in current.holds
        if hold.decision
    ]
    parts += [Text(f"undone: {done.step}: {done.action} -> {done.result}") for done in current.compensations]
    if current.error:
        parts.append(Text(f"{current.error.step}: {current.error.type}: {current.error.message}", style="red"))
    return Group(*parts)


def parked(code: str, system: str, sagas: list[SagaStatus]) -> Table:
    """Parked sagas of one exception code and system: what each waits for and what an operator may do."""
    title = f"{code} ({system}): {TO_DO.get(code, OTHERWISE)}"
    table = Table("deal", "customer", "ERP order", "step", "since (UTC)", "may", "error", title=title)
    for s in sagas:
        if s.exception is None:
            continue
        context = s.exception.context
        table.add_row(
            s.deal_id,
            s.customer_id or "-",
            context.get("erp_order_number") or context.get("erp_order_id") or "-",
            s.exception.step,
            f"{s.exception.since:%Y-%m-%d %H:%M}",
            ", ".join(s.exception.actions),
            s.exception.error.message[:80],
        )
    return table
