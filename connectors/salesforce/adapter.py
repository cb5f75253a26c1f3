"""Salesforce as q2c's CRM: opportunities are deals, accounts are customers, milestones are custom fields."""

from __future__ import annotations

from datetime import date

from pydantic import ValidationError

from connectors.adapter import Adapter
from connectors.errors import BusinessRuleError, NotFound
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.mapping import (
    ACCOUNT_ATTRIBUTES,
    MILESTONE_FIELDS,
    RECORDED_MILESTONES,
    deal_from_salesforce,
)
from connectors.salesforce.renewal import open_renewal
from models.crm import DealMilestones, DealPage, DealState
from models.deal import Deal, DealLine

_MILESTONE_OF = {field: name for name, field in MILESTONE_FIELDS.items()}
_LEGACY = _MILESTONE_OF | RECORDED_MILESTONES  # an Opportunity field, or a key QuoteToCash records
CONTACTS = "contacts"  # the primary contact's email: a Contact record, not an Account field


class SalesforceCrm(Adapter[SalesforceClient]):
    name = "salesforce"

    async def get_deal(self, deal_id: str) -> Deal:
        return await self.client.get_deal(deal_id)

    async def update_deal(self, deal_id: str, milestones: DealMilestones) -> None:
        changes = milestones.changes()
        if not changes:
            return
        account = None
        if changes.get("erp_customer"):  # the account learns its ERP id in the same all-or-none call
            account_id = (await self.client.opportunity_fields(deal_id, ["AccountId"])).get("AccountId")
            if account_id:
                account = (str(account_id), {"ERP_Customer_Id__c": changes["erp_customer"]})
        await self.client.write_milestones(deal_id, {MILESTONE_FIELDS[k]: v for k, v in changes.items()}, account)

    def legacy_milestones(self, properties: dict[str, str | None]) -> DealMilestones:
        return DealMilestones.named(properties, _LEGACY)

    async def deals_with_states(self, deal_ids: list[str]) -> dict[str, tuple[Deal, DealState]]:
        """One SOQL query per page: each deal with its account, lines and contact roles, and q2c's milestones."""
        found: dict[str, tuple[Deal, DealState]] = {}
        for record in await self.client.opportunities(deal_ids, tuple(MILESTONE_FIELDS.values())):
            deal_id = str(record["Id"])
            try:
                deal = deal_from_salesforce(record)
            except (ValidationError, ValueError) as exc:
                raise BusinessRuleError(self.name, f"deal {deal_id} is not valid: {exc}", code="INVALID_DEAL") from exc
            company = record.get("AccountId")
            state = DealState(
                deal_id=deal_id,
                company_id=str(company) if company else None,
                milestones=DealMilestones.held(record, _MILESTONE_OF),
            )
            found[deal_id] = (deal, state)
        return found

    async def deal_state(self, deal_id: str) -> DealState:
        record = await self.client.opportunity_fields(deal_id, ["AccountId", *MILESTONE_FIELDS.values()])
        company = record.get("AccountId")
        return DealState(
            deal_id=deal_id,
            company_id=str(company) if company else None,
            milestones=DealMilestones.held(record, _MILESTONE_OF),
        )

    async def closed_won_page(self, after: str | None, limit: int, since: str | None, until: str | None) -> DealPage:
        ids, next_after = await self.client.closed_won_page(after, limit, since, until)
        return DealPage(deal_ids=ids, next_after=next_after)

    async def read_company_attribute(self, company_id: str, attribute: str) -> str | None:
        if attribute == CONTACTS:
            contact = await self.client.primary_contact(company_id)
            return str(contact["Email"]) if contact and contact.get("Email") else None
        value = await self.client.account_field(company_id, _field(attribute))
        return None if value is None else str(value)

    async def write_company_attribute(self, company_id: str, attribute: str, value: str | None) -> None:
        if attribute == CONTACTS:
            contact = await self.client.primary_contact(company_id)
            if contact is None:
                raise NotFound("salesforce", f"Account {company_id} has no contact to hold {value!r}", code="NOT_FOUND")
            await self.client.update("Contact", str(contact["Id"]), {"Email": value})
            return
        await self.client.update("Account", company_id, {_field(attribute): value})

    async def open_renewal_deal(
        self, company_id: str, name: str, close_date: date, currency: str, lines: list[DealLine], idempotency_key: str
    ) -> str:
        """An Opportunity of Type Renewal with its products at these prices, upserted by the key (connectors.
        salesforce.renewal): a retry finds the one it made."""
        return await open_renewal(self.client, company_id, name, close_date, currency, lines, idempotency_key)


def _field(attribute: str) -> str:
    if attribute not in ACCOUNT_ATTRIBUTES:
        raise ValueError(f"salesforce accounts hold no attribute {attribute!r}")
    return ACCOUNT_ATTRIBUTES[attribute]
