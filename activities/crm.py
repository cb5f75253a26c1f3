"""CRM activities: read the deal, write milestones and outcomes back to it."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import attempt, vendor_step
from models.crm import DealMilestones
from models.steps import DealFetched, Done, FetchDeal, PaymentRecorded, RecordPayment, UpdateDeal
from ports import Crm

PAYMENT_RANK = {None: -1, "": -1, "posted": 0, "payment_failed": 1, "overdue": 1, "paid": 2}


class CrmActivities:
    def __init__(self, crm: Crm) -> None:
        self.crm = crm

    @activity.defn(name="crm.fetch_deal")
    async def fetch_deal(self, step: FetchDeal) -> DealFetched:
        with vendor_step(step):
            return DealFetched(deal=await self.crm.get_deal(step.deal_id), attempt=attempt())

    @activity.defn(name="crm.record_payment")
    async def record_payment(self, step: RecordPayment) -> PaymentRecorded:
        """A billing event after the saga: move the deal's payment status forward only, never back."""
        with vendor_step(step):
            state = await self.crm.deal_state(step.deal_id)
            previous = state.milestones.payment
            applied = PAYMENT_RANK.get(step.status, -1) > PAYMENT_RANK.get(previous, -1)
            if applied:
                await self.crm.update_deal(step.deal_id, DealMilestones(payment=step.status, invoice=step.status))
        return PaymentRecorded(applied=applied, previous=previous, company_id=state.company_id, attempt=attempt())

    @activity.defn(name="crm.update_deal")
    async def update_deal(self, step: UpdateDeal) -> Done:
        """Order number, milestones, holds and outcomes: all plain writes, idempotent by nature.

        Inputs recorded before the ports carry the CRM's own property names; the adapter reads them.
        """
        try:
            milestones = step.milestones or self.crm.legacy_milestones(step.properties)
        except ValueError as unknown:  # no retry can make a name known
            raise ApplicationError(str(unknown), type="UnknownMilestone", non_retryable=True) from unknown
        with vendor_step(step):
            await self.crm.update_deal(step.deal_id, milestones)
            return Done(attempt=attempt())
