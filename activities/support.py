"""Support activities: the entitlement on the customer's organization, and milestones agents can see."""

from __future__ import annotations

from temporalio import activity

from activities.errors import attempt, vendor_step
from connectors.errors import NotFound
from models.steps import (
    Done,
    FinanceReview,
    OrganizationFields,
    Provision,
    Provisioned,
    Revoke,
    SupportMilestone,
    TicketOpened,
)
from models.support import EntitlementStatus, SupportOrganization
from ports import Support


class SupportActivities:
    def __init__(self, support: Support) -> None:
        self.support = support

    @activity.defn(name="support.provision_entitlement")
    async def provision_entitlement(self, step: Provision) -> Provisioned:
        org = SupportOrganization(
            external_id=step.customer.id,
            name=step.customer.legal_name,
            service_tier=step.tier,
            contract_start=step.start,
            contract_end=step.end,
            entitlement_status=EntitlementStatus.ACTIVE,
            erp_customer_id=step.erp_customer_id,
        )
        with vendor_step(step):
            saved = await self.support.upsert_organization(org)
        return Provisioned(organization_id=saved.id or "", attempt=attempt())

    @activity.defn(name="support.revoke_entitlement")
    async def revoke_entitlement(self, step: Revoke) -> Done:
        with vendor_step(step):
            await self.support.update_organization(
                step.customer.id, {"entitlement_status": EntitlementStatus.REVOKED.value}
            )
        return Done(result="revoked", attempt=attempt())

    @activity.defn(name="support.open_finance_review")
    async def open_finance_review(self, step: FinanceReview) -> TicketOpened:
        """An unpaid invoice past the deadline: finance gets a ticket on the customer's organization, once."""
        with vendor_step(step):
            ticket = await self.support.create_ticket(
                subject=f"Finance review: {step.customer.legal_name} has unpaid invoices",
                body=f"Deal {step.deal_id}: invoices {', '.join(step.invoice_ids)} are {step.detail}.",
                customer_id=step.customer.id,
                tags=["q2c", "finance_review", "payment_overdue"],
                idempotency_key=step.idempotency_key,
            )
        return TicketOpened(ticket_id=ticket, attempt=attempt())

    @activity.defn(name="support.update_organization")
    async def update_organization(self, step: OrganizationFields) -> Done:
        with vendor_step(step):
            await self.support.update_organization(step.external_id, step.fields)
        return Done(attempt=attempt())

    @activity.defn(name="support.record_milestone")
    async def record_milestone(self, step: SupportMilestone) -> Done:
        """So an agent sees invoice and contract status without opening the ERP."""
        with vendor_step(step):
            try:
                await self.support.update_organization(step.customer.id, step.fields)
            except NotFound:
                # No organization yet (entitlement gated on payment): create it, not yet entitled.
                await self.support.upsert_organization(
                    SupportOrganization(
                        external_id=step.customer.id,
                        name=step.customer.legal_name,
                        entitlement_status=EntitlementStatus.PENDING,
                        invoice_status=step.fields.get("invoice_status"),
                    )
                )
        return Done(attempt=attempt())
