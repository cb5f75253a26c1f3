"""Starting sagas: one per deal, whoever asks and however often."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypedDict, TypeVar

from temporalio.client import Client, WorkflowHandle
from temporalio.common import TypedSearchAttributes, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from typing_extensions import Unpack

from connectors.roles import Roles
from models.common import Region
from models.contract import ContractPolicy
from models.customer_sync import CustomerChange, CustomerRecord, sync_id
from models.saga import (
    BillingEvent,
    LateBillingEvent,
    SagaInput,
    SagaPolicy,
    SagaResult,
    deal_of,
    late_event_id,
    saga_id,
)
from workflows import search
from workflows.billing_events import LateBillingEventWorkflow
from workflows.customer_sync import CustomerSync
from workflows.quote_to_cash import QuoteToCash

T = TypeVar("T")
# How long a start or signal may take before the caller is told Temporal is unavailable. The SDK itself
# retries an unreachable server for about 10 s; a webhook sender should hear 503 long before its timeout.
# Safe to give up early: starts are idempotent (USE_EXISTING + REJECT_DUPLICATE, changes deduplicated).
TEMPORAL_CALL_WITHIN = timedelta(seconds=2)


async def within_deadline(call: Awaitable[T]) -> T:
    """A call to Temporal, bounded: a timeout or a failed connect becomes an RPCError (-> 503 at the ingress)."""
    try:
        async with asyncio.timeout(TEMPORAL_CALL_WITHIN.total_seconds()):
            return await call
    except TimeoutError:
        raise RPCError(
            f"no answer from Temporal within {TEMPORAL_CALL_WITHIN.total_seconds():g} s",
            RPCStatusCode.DEADLINE_EXCEEDED,
            b"",
        ) from None
    except RuntimeError as error:  # a lazy client's first connect
        if "connect" not in str(error):
            raise
        raise RPCError(str(error), RPCStatusCode.UNAVAILABLE, b"") from error


class SagaTerms(TypedDict, total=False):
    """What a start may set beyond the deal (unset or None: the saga's defaults), mostly from configuration."""

    region: Region | None
    policy: SagaPolicy | None
    policies: dict[Region, SagaPolicy] | None
    contracts: ContractPolicy | None
    contract_policies: dict[Region, ContractPolicy] | None


class SagaStartOptions(TypedDict):
    id: str
    task_queue: str
    id_conflict_policy: WorkflowIDConflictPolicy
    id_reuse_policy: WorkflowIDReusePolicy
    search_attributes: TypedSearchAttributes
    static_summary: str
    static_details: str


@dataclass(frozen=True)
class SagaStart:
    """A deal's saga start request, however it is sent: a start here, an Update-with-Start in client/submit.py."""

    saga: SagaInput
    options: SagaStartOptions

    @property
    def workflow_id(self) -> str:
        return self.options["id"]


def saga_start(
    crm: str, deal_id: str, *, triggered_by: str, correlation_id: str, task_queue: str, **terms: Unpack[SagaTerms]
) -> SagaStart:
    """The one way a saga is asked for: its input, its id, and the id policies that make a start idempotent.

    A running saga is joined (`USE_EXISTING`); a finished one is not started again (`REJECT_DUPLICATE`), so a
    duplicate webhook or a second click never makes a second order.
    """
    saga = SagaInput(
        deal_id=deal_id,
        crm=crm,
        correlation_id=correlation_id,
        triggered_by=triggered_by,
        **{term: value for term, value in terms.items() if value is not None},
    )
    options = SagaStartOptions(
        id=saga_id(crm, deal_id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=search.initial(),
        static_summary=f"deal {crm}:{deal_id}",  # the Temporal UI; customer and amount: current details
        static_details=f"triggered by {triggered_by}; correlation id {correlation_id}",
    )
    return SagaStart(saga, options)


@dataclass(frozen=True)
class Started:
    workflow_id: str
    run_id: str | None
    new: bool
    handle: WorkflowHandle[QuoteToCash, SagaResult]


async def start_saga(
    client: Client,
    deal_id: str,
    *,
    triggered_by: str,
    correlation_id: str,
    task_queue: str,
    crm: str | None = None,
    **terms: Unpack[SagaTerms],
) -> Started:
    """Start the deal's saga, or join the one already running or finished for it (see `saga_start`).

    `crm` is the name of the CRM adapter holding the deal; unset, the configured one (`Q2C_CRM`).
    """
    start = saga_start(
        crm or Roles().crm,
        deal_id,
        triggered_by=triggered_by,
        correlation_id=correlation_id,
        task_queue=task_queue,
        **terms,
    )
    try:
        handle: WorkflowHandle[QuoteToCash, SagaResult] = await within_deadline(
            client.start_workflow(QuoteToCash.run, start.saga, **start.options, rpc_timeout=TEMPORAL_CALL_WITHIN)
        )
    except WorkflowAlreadyStartedError as already:
        handle = client.get_workflow_handle_for(QuoteToCash.run, start.workflow_id)
        return Started(start.workflow_id, already.run_id, new=False, handle=handle)
    return Started(start.workflow_id, handle.first_execution_run_id, _started(handle), handle)


def _started(handle: WorkflowHandle[Any, Any]) -> bool:
    """Did this start make a run, or join one already running (`USE_EXISTING`)? The server says; the SDK
    keeps its answer on the handle."""
    return bool(getattr(getattr(handle, "_start_workflow_response", None), "started", True))


async def deliver_billing_event(client: Client, event: BillingEvent, task_queue: str) -> str:
    """To the running saga as a signal; otherwise to its own `LateBillingEvent` run, keyed by event id.

    Either way Temporal holds it before the webhook is answered, so it is never lost, and the event-id
    key (or the saga's own record) means it is never applied twice.
    """
    if event.workflow_id:
        try:
            await within_deadline(
                client.get_workflow_handle(event.workflow_id).signal(
                    "billing_event", event, rpc_timeout=TEMPORAL_CALL_WITHIN
                )
            )
            return "saga"
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:  # not running (any more): handled below
                raise
    deal_id = deal_of(event.workflow_id)
    try:
        handle = await within_deadline(
            client.start_workflow(
                LateBillingEventWorkflow.run,
                LateBillingEvent(event=event, deal_id=deal_id),
                id=late_event_id(event.system, event.event_id),
                task_queue=task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=search.initial("late_event"),
                rpc_timeout=TEMPORAL_CALL_WITHIN,
            )
        )
    except WorkflowAlreadyStartedError:
        return "duplicate"
    if not _started(handle):
        return "duplicate"  # joined the run that is still applying the first delivery
    return "late" if deal_id else "unmatched"


async def submit_customer_change(client: Client, change: CustomerChange, task_queue: str) -> str:
    """Signal-with-start the customer's CustomerSync entity: it runs from the first change on."""
    handle = await within_deadline(
        client.start_workflow(
            CustomerSync.run,
            CustomerRecord(customer_id=change.customer_id, crm=change.crm),  # the customer's CRM, when it says
            id=sync_id(change.customer_id),
            task_queue=task_queue,
            start_signal="change",
            start_signal_args=[change],
            rpc_timeout=TEMPORAL_CALL_WITHIN,
        )
    )
    return handle.id


async def forward_company_changes(client: Client, changes: list[CustomerChange], task_queue: str) -> int:
    """Customer attribute changes a vendor's webhook reported (already canonical), to CustomerSync."""
    for change in changes:
        await submit_customer_change(client, change, task_queue)
    return len(changes)
