"""Support activities: the entitlement on the customer's organization, and milestones agents can see."""

from __future__ import annotations

from temporalio import activity

from activities.errors import attempt, vendor_step
from connectors.zendesk import ZendeskClient
from models.steps import Done, Provision, Provisioned, Revoke, SupportMilestone
from models.support import EntitlementStatus, SupportOrganization


class SupportActivities:
    def __init__(self, zendesk: ZendeskClient) -> None:
        self.zendesk = zendesk

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
            saved = await self.zendesk.upsert_organization(org)
        return Provisioned(organization_id=saved.id or "", attempt=attempt())

    @activity.defn(name="support.revoke_entitlement")
    async def revoke_entitlement(self, step: Revoke) -> Done:
        with vendor_step(step):
            await self.zendesk.update_organization_fields(
                step.customer.id, {"entitlement_status": EntitlementStatus.REVOKED.value}
            )
        return Done(result="revoked", attempt=attempt())

    @activity.defn(name="support.record_milestone")
    async def record_milestone(self, step: SupportMilestone) -> Done:
        """So an agent sees invoice and contract status without opening the ERP."""
        with vendor_step(step):
            await self.zendesk.update_organization_fields(step.customer.id, step.fields)
        return Done(attempt=attempt())
