"""What operators see of a saga beyond the `status` query: search attributes and a parked step's context."""

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
