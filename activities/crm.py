"""CRM activities: read the deal, write milestones and outcomes back to it."""

from __future__ import annotations

from temporalio import activity

from activities.errors import attempt, vendor_step
from connectors.hubspot import HubSpotClient
from models.steps import DealFetched, Done, FetchDeal, UpdateDeal


class CrmActivities:
    def __init__(self, hubspot: HubSpotClient) -> None:
        self.hubspot = hubspot

    @activity.defn(name="crm.fetch_deal")
    async def fetch_deal(self, step: FetchDeal) -> DealFetched:
        with vendor_step(step):
            return DealFetched(deal=await self.hubspot.get_deal(step.deal_id), attempt=attempt())

    @activity.defn(name="crm.update_deal")
    async def update_deal(self, step: UpdateDeal) -> Done:
        """Order number, milestones, holds and outcomes: all plain property writes, idempotent by nature."""
        with vendor_step(step):
            await self.hubspot.update_deal(step.deal_id, step.properties)
            return Done(attempt=attempt())
