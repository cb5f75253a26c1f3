"""Billing events that arrive after their saga has ended (or for no saga at all): applied once, never lost."""

from __future__ import annotations

from temporalio import workflow

from workflows import search
from workflows.kit.options import FORWARD

with workflow.unsafe.imports_passed_through():
    from activities.crm import CrmActivities, payment_version
    from activities.support import SupportActivities
    from models.saga import LATE_EVENT_TYPE, LateBillingEvent, parse_saga_id
    from models.steps import OrganizationFields, RecordPayment


def crm_of(saga_workflow_id: str | None) -> str | None:
    """The CRM of the saga the event belongs to (a late payment goes to that deal, in that CRM)."""
    parsed = parse_saga_id(saga_workflow_id) if saga_workflow_id else None
    return parsed[0] if parsed else None


STATUS = {"invoice.finalized": "posted", "invoice.payment_failed": "payment_failed", "invoice.paid": "paid"}


@workflow.defn(name=LATE_EVENT_TYPE)
class LateBillingEventWorkflow:
    """One run per event id (`q2c-event-<system>-<event id>`), so a redelivery is never applied twice.

    The deal's payment status only moves forward, so a late `payment_failed` cannot undo `paid`: the event's
    version (its rank, then Stripe's `created` and event id) goes through the one ordering rule
    (models.customer_sync.order) in `crm.record_payment`.
    An event that matches no deal is kept, searchable as `Q2CStage='unmatched'`, for reconciliation.
    """

    @workflow.run
    async def run(self, late: LateBillingEvent) -> str:
        key = workflow.info().workflow_id
        if late.deal_id is None:
            workflow.upsert_search_attributes([search.STAGE.value_set("unmatched")])
            return "unmatched"
        status = STATUS[late.event.type]
        recorded = await workflow.execute_activity_method(
            CrmActivities.record_payment,
            RecordPayment(
                deal_id=late.deal_id,
                status=status,
                version=payment_version(status, late.event.created, late.event.event_id),
                crm=crm_of(late.event.workflow_id),
                idempotency_key=f"{key}:crm",
            ),
            **FORWARD,
        )
        if recorded.applied and recorded.company_id:
            await workflow.execute_activity_method(
                SupportActivities.update_organization,
                OrganizationFields(
                    external_id=recorded.company_id,
                    fields={"invoice_status": status},
                    idempotency_key=f"{key}:support",
                ),
                **FORWARD,
            )
        outcome = "applied" if recorded.applied else f"stale (deal already {recorded.previous})"
        workflow.upsert_search_attributes([search.STAGE.value_set("applied" if recorded.applied else "stale")])
        return outcome
