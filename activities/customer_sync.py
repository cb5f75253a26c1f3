"""Customer master data: write an accepted change to the systems that hold it; read an owner's value."""

from __future__ import annotations

from collections.abc import Mapping

from temporalio import activity

from activities.crms import ServedCrms
from activities.errors import vendor_step
from connectors.errors import NotFound
from models.common import System
from models.customer_sync import FIELDS, Propagate, ReadOwner
from models.steps import StepInput
from ports import Crm, Erp, Support


class CustomerSyncActivities:
    """Over the default CRM and every other CRM served (`Q2C_CRMS`): a customer's CRM writes go to its own CRM."""

    def __init__(self, crm: Crm, erp: Erp, support: Support, crms: Mapping[str, Crm] | None = None) -> None:
        self.crm, self.erp, self.support = crm, erp, support
        self.served = ServedCrms(crm, crms)

    def crm_for(self, name: str | None) -> Crm:
        """The named CRM (the customer's, as its entity knows it), else the default one."""
        return self.served.named(name)

    @activity.defn(name="customer_sync.propagate")
    async def propagate(self, change: Propagate) -> list[System]:
        """Set the attribute in each target; a system that does not know the customer yet is skipped."""
        written: list[System] = []
        with vendor_step(StepInput(correlation_id=change.origin)):
            for system in change.targets:
                try:
                    await self.write(system, change.customer_id, change.attribute, change.value, change.crm)
                    written.append(system)
                except NotFound:
                    activity.logger.info("%s does not know customer %s yet", system, change.customer_id)
        return written

    async def write(
        self, system: System, customer_id: str, attribute: str, value: str | None, crm: str | None = None
    ) -> None:
        if system is System.CRM:
            await self.crm_for(crm).write_company_attribute(customer_id, attribute, value)
        elif system is System.ERP:
            await self.erp.write_customer_attribute(customer_id, attribute, value)
        elif system is System.SUPPORT:
            await self.support.write_organization_attribute(customer_id, attribute, value)

    @activity.defn(name="customer_sync.read_owner")
    async def read_owner(self, read: ReadOwner) -> str | None:
        """The owner's current value, to put back where a non-owner changed it."""
        if read.system not in FIELDS.get(read.attribute, ()):
            return None
        with vendor_step(StepInput()):
            try:
                if read.system is System.CRM:
                    return await self.crm_for(read.crm).read_company_attribute(read.customer_id, read.attribute)
                if read.system is System.ERP:
                    return await self.erp.read_customer_attribute(read.customer_id, read.attribute)
                return await self.support.read_organization_attribute(read.customer_id, read.attribute)
            except NotFound:
                return None
