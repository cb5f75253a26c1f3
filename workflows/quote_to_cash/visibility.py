"""What operators see of a saga beyond the `status` query: search attributes, a parked step's context, and
the Temporal UI's current details (stage, hold or exception with what to do, the steps as a table)."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

from workflows import patches, search

with workflow.unsafe.imports_passed_through():
    from models.saga import SagaStatus, Stage


# The stages operators filter on: a wait (a hold, an exception, payment), an undo, an end. The stages between
# (validating, ordering, invoicing, ...) last seconds: the `status` query and current details show them.
FILTERED = frozenset(
    {
        Stage.ON_HOLD,
        Stage.NEEDS_ATTENTION,
        Stage.AWAITING_PAYMENT,
        Stage.COMPENSATING,
        Stage.COMPLETED,
        Stage.COMPENSATED,
        Stage.CANCELLED,
        Stage.FAILED,
    }
)


def publish(state: SagaStatus, stage: Stage) -> None:
    """Stage, hold, customer and amount as search attributes. Each upsert is a billable action, so a run since
    FEWER_UPSERTS upserts only when a filtered stage begins or the hold changes (set or cleared); before, on
    every stage change (what its history recorded)."""
    hold = state.hold.reason if state.hold else ""
    if state.exception is not None:
        hold = f"exception:{state.exception.code}"
    if workflow.patched(patches.FEWER_UPSERTS):
        shown = workflow.info().typed_search_attributes
        if (stage not in FILTERED or shown.get(search.STAGE) == stage.value) and shown.get(search.HOLD) == hold:
            return
    updates: list[SearchAttributeUpdate[Any]] = [search.STAGE.value_set(stage.value), search.HOLD.value_set(hold)]
    if state.customer_id:
        updates.append(search.CUSTOMER.value_set(state.customer_id))
    if state.amount is not None:
        updates.append(search.AMOUNT.value_set(float(state.amount.amount)))
    workflow.upsert_search_attributes(updates)


def exception_context(state: SagaStatus) -> dict[str, str | None]:
    """The ids an operator needs to fix a parked step without opening each vendor's UI."""
    return {
        "deal_id": state.deal_id,
        "customer_id": state.customer_id,
        "erp_customer_id": state.external_ids.get("upsert_customer"),
        "erp_order_id": state.external_ids.get("create_order"),
        "erp_order_number": state.external_ids.get("erp_order_number"),
    }


# What an operator does about each exception code (docs/runbooks/ says more).
TO_DO = {
    "credentials": "renew the system's credentials; the step is re-tried by itself, or: q2c retry",
    "permission_denied": "restore the integration user's permission at the vendor; it resumes, or: q2c retry",
    "endpoint_missing": "the vendor moved or retired a route: update the connector, deploy, then q2c retry",
    "internal_error": "a q2c defect: fix and deploy, then q2c retry (the step is re-tried by itself too)",
    "rate_limited": "the vendor kept refusing for rate: raise the quota or lower the load; it re-tries by itself",
    "vendor_unavailable": "the vendor kept failing (5xx, timeouts): check its status page; it re-tries by itself",
    "retries_exhausted": "the step kept failing: read the error; q2c retry once fixed",
    "schema_drift": "map the renamed or retyped field in the connector, deploy, then q2c retry",
    "missing_erp_mapping": "map the SKU in the ERP, then q2c retry",
    "missing_tax_registration": "add the tax registration in the CRM, then q2c retry",
    "compensation_failed": "undo the step by hand, then q2c skip (or q2c retry)",
}
OTHERWISE = "read the error, fix the cause, then q2c retry"


def details(state: SagaStatus) -> str:
    """The saga as Markdown for the Temporal UI's current details: an operator reads it without a query."""
    ref = state.workflow_id
    lines = [f"**{state.stage.value}** · customer {state.customer_id or '-'} · amount {state.amount or '-'}"]
    if parked := state.exception:
        lines += [
            "",
            f"**exception:{parked.code}** at `{parked.step}` ({parked.error.system or '-'}) since "
            f"{parked.since:%Y-%m-%d %H:%M} UTC: {parked.error.message[:300]}",
            f"To do: {TO_DO.get(parked.code, OTHERWISE)} (`q2c retry {ref}`; may: {', '.join(parked.actions)})",
        ]
        if parked.next_recheck:
            lines.append(f"Tried again by itself at {parked.next_recheck:%H:%M:%S} UTC ({parked.rechecks} so far)")
    if hold := state.hold:
        lines += [
            "",
            f"**on hold: {hold.reason}** until {hold.deadline:%Y-%m-%d %H:%M} UTC: {hold.detail}",
            f"To do: `q2c approve-credit {ref}` or `q2c reject-credit {ref}`",
        ]
    if state.error and not state.exception:
        lines += ["", f"**{state.error.type}** at `{state.error.step}`: {state.error.message[:300]}"]
    lines += ["", "| step | state | attempts | external id |", "|---|---|---|---|"]
    lines += [f"| {s.name} | {s.state.value} | {s.attempts} | {s.external_id or ''} |" for s in state.steps[-40:]]
    return "\n".join(lines)
