"""CRM activities: read the deal, write milestones and outcomes back to it."""

from __future__ import annotations

from temporalio import activity

from activities.errors import attempt, vendor_step
from connectors.hubspot.client import HubSpotClient
from models.steps import DealFetched, Done, FetchDeal, PaymentRecorded, RecordPayment, UpdateDeal

PAYMENT_RANK = {None: -1, "": -1, "posted": 0, "payment_failed": 1, "overdue": 1, "paid": 2}


class CrmActivities:
    def __init__(self, hubspot: HubSpotClient) -> None:
        self.hubspot = hubspot

    @activity.defn(name="crm.fetch_deal")
    async def fetch_deal(self, step: FetchDeal) -> DealFetched:
        with vendor_step(step):
            return DealFetched(deal=await self.hubspot.get_deal(step.deal_id), attempt=attempt())

    @activity.defn(name="crm.record_payment")
    async def record_payment(self, step: RecordPayment) -> PaymentRecorded:
        """A billing event after the saga: move the deal's payment status forward only, never back."""
        with vendor_step(step):
            properties, company = await self.hubspot.deal_properties(step.deal_id, ["payment_status"])
            previous = properties.get("payment_status")
            applied = PAYMENT_RANK.get(step.status, -1) > PAYMENT_RANK.get(previous, -1)
            if applied:
                await self.hubspot.update_deal(
                    step.deal_id, {"payment_status": step.status, "invoice_status": step.status}
                )
        return PaymentRecorded(applied=applied, previous=previous, company_id=company, attempt=attempt())

    @activity.defn(name="crm.update_deal")
    async def update_deal(self, step: UpdateDeal) -> Done:
        """Order number, milestones, holds and outcomes: all plain property writes, idempotent by nature."""
        with vendor_step(step):
            await self.hubspot.update_deal(step.deal_id, step.properties)
            return Done(attempt=attempt())
