"""CRM activities: read the deal, write milestones and outcomes back to it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.crms import ServedCrms
from activities.errors import attempt, vendor_step
from models.crm import DealMilestones
from models.customer_sync import Version, order
from models.saga import parse_saga_id
from models.steps import DealFetched, Done, FetchDeal, PaymentRecorded, RecordPayment, StepInput, UpdateDeal
from ports import Crm

PAYMENT_RANK = {None: -1, "": -1, "posted": 0, "payment_failed": 1, "overdue": 1, "paid": 2}


def payment_version(status: str | None, at: datetime, change_id: str) -> Version:
    """A payment status on the one ordering rule (models.customer_sync.order): its rank outranks time."""
    return Version(rank=PAYMENT_RANK.get(status, -1), at=at, change_id=change_id)


class CrmActivities:
    """Over the default CRM, and every other CRM served (`Q2C_CRMS`): each call goes to its saga's CRM."""

    def __init__(self, crm: Crm, crms: Mapping[str, Crm] | None = None) -> None:
        self.served = ServedCrms(crm, crms)

    @property
    def crm(self) -> Crm:
        """The CRM of the saga this activity runs for (`q2c-<crm>-<deal>`), else the default one."""
        return self.crm_for(StepInput())

    def crm_for(self, step: StepInput) -> Crm:
        """The step's own `crm` if its input has one, else the saga id's, else the default CRM."""
        name = getattr(step, "crm", None)
        if name is None and activity.in_activity():
            parsed = parse_saga_id(activity.info().workflow_id)
            name = parsed[0] if parsed else None
        return self.served.named(name)

    @activity.defn(name="crm.fetch_deal")
    async def fetch_deal(self, step: FetchDeal) -> DealFetched:
        with vendor_step(step):
            return DealFetched(deal=await self.crm_for(step).get_deal(step.deal_id), attempt=attempt())

    @activity.defn(name="crm.record_payment")
    async def record_payment(self, step: RecordPayment) -> PaymentRecorded:
        """A billing event after the saga: move the deal's payment status forward only, never back."""
        crm = self.crm_for(step)
        with vendor_step(step):
            state = await crm.deal_state(step.deal_id)
            previous = state.milestones.payment
            candidate = step.version or payment_version(step.status, datetime.min.replace(tzinfo=UTC), step.status)
            # The CRM keeps no clock for the status it holds: taken as of the candidate's own moment, so only a
            # higher rank is newer, and a redelivery or an equal-rank report changes nothing.
            held = payment_version(previous, candidate.at, candidate.change_id)
            applied = order(candidate, held) == "newer"
            if applied:
                await crm.update_deal(step.deal_id, DealMilestones(payment=step.status, invoice=step.status))
        return PaymentRecorded(applied=applied, previous=previous, company_id=state.company_id, attempt=attempt())

    @activity.defn(name="crm.update_deal")
    async def update_deal(self, step: UpdateDeal) -> Done:
        """Order number, milestones, holds and outcomes: all plain writes, idempotent by nature.

        Inputs recorded before the ports carry the CRM's own property names; the adapter reads them.
        """
        crm = self.crm_for(step)
        try:
            milestones = step.milestones or crm.legacy_milestones(step.properties)
        except ValueError as unknown:  # no retry can make a name known
            raise ApplicationError(str(unknown), type="UnknownMilestone", non_retryable=True) from unknown
        with vendor_step(step):
            await crm.update_deal(step.deal_id, milestones)
            return Done(attempt=attempt())
