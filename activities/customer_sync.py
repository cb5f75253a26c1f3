"""Customer master data: write an accepted change to the systems that hold it; read an owner's value."""

from __future__ import annotations

from temporalio import activity

from activities.errors import vendor_step
from connectors.errors import NotFound
from connectors.hubspot.client import HubSpotClient
from connectors.netsuite.client import NetSuiteClient
from connectors.zendesk.client import ZendeskClient
from models.common import System
from models.customer_sync import FIELDS, Propagate, ReadOwner
from models.steps import StepInput


class CustomerSyncActivities:
    def __init__(self, hubspot: HubSpotClient, netsuite: NetSuiteClient, zendesk: ZendeskClient) -> None:
        self.hubspot, self.netsuite, self.zendesk = hubspot, netsuite, zendesk

    @activity.defn(name="customer_sync.propagate")
    async def propagate(self, change: Propagate) -> list[System]:
        """Set the attribute in each target; a system that does not know the customer yet is skipped."""
        written: list[System] = []
        with vendor_step(StepInput(correlation_id=change.origin)):
            for system in change.targets:
                field = FIELDS[change.attribute][system]
                try:
                    await self.write(system, change.customer_id, field, change.value)
                    written.append(system)
                except NotFound:
                    activity.logger.info("%s does not know customer %s yet", system, change.customer_id)
        return written

    async def write(self, system: System, customer_id: str, field: str, value: str | None) -> None:
        if system is System.CRM:
            await self.hubspot.update_company(customer_id, {field: value})
        elif system is System.ERP:
            await self.netsuite.update_customer(customer_id, {field: value})
        elif system is System.SUPPORT:
            # create_or_update would make a nameless organization for a customer support does not know yet
            if await self.zendesk.find_organization(customer_id) is None:
                raise NotFound("zendesk", f"no organization {customer_id}")
            if field == "name" and value:
                await self.zendesk.rename_organization(customer_id, value)
            else:
                await self.zendesk.update_organization_fields(customer_id, {field: value})

    @activity.defn(name="customer_sync.read_owner")
    async def read_owner(self, read: ReadOwner) -> str | None:
        """The owner's current value, to put back where a non-owner changed it."""
        field = FIELDS.get(read.attribute, {}).get(read.system)
        if field is None:
            return None
        with vendor_step(StepInput()):
            try:
                if read.system is System.CRM:
                    return await self.hubspot.company_property(read.customer_id, field)
                if read.system is System.ERP:
                    found = (await self.netsuite.get("customer", f"eid:{read.customer_id}")).get(field)
                    return None if found is None else str(found)
                org = await self.zendesk.find_organization(read.customer_id)
                return org.name if org and field == "name" else None
            except NotFound:
                return None
