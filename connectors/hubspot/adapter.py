"""HubSpot as q2c's CRM: canonical milestones and attributes to HubSpot properties, and back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from connectors.adapter import Adapter
from connectors.errors import BusinessRuleError
from connectors.hubspot import bulk
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.mapping import (
    COMPANY_ATTRIBUTES,
    MILESTONE_PROPERTIES,
    deal_kind_from_hubspot,
    line_to_hubspot,
)
from models.crm import DealMilestones, DealPage, DealState
from models.deal import Deal, DealLine

RENEWAL_STAGE = "appointmentscheduled"  # the default pipeline's first stage: open, in the forecast
_MILESTONE_OF = {prop: name for name, prop in MILESTONE_PROPERTIES.items()}
# A deal is in a reconciliation window when it closed, entered closed-won or last changed in it: HubSpot sets the
# close date when a deal is won unless the same write sets one, so a close date alone can say another day.
WON_WINDOW = ("closedate", "hs_date_entered_closedwon", "hs_lastmodifieddate")


def _property(attribute: str) -> str:
    if attribute not in COMPANY_ATTRIBUTES:
        raise ValueError(f"hubspot companies hold no attribute {attribute!r}")
    return COMPANY_ATTRIBUTES[attribute]


class HubSpotCrm(Adapter[HubSpotClient]):
    name = "hubspot"

    async def get_deal(self, deal_id: str) -> Deal:
        deal = await self.client.get_deal(deal_id)
        try:
            kind = deal_kind_from_hubspot(deal.properties.get("dealtype"))
        except ValueError as refused:
            raise BusinessRuleError(self.name, f"deal {deal_id}: {refused}", code="INVALID_DEAL") from refused
        return deal.model_copy(update={"kind": kind})

    async def update_deal(self, deal_id: str, milestones: DealMilestones) -> None:
        changes = milestones.changes()
        if changes:
            await self.client.update_deal(deal_id, {MILESTONE_PROPERTIES[k]: v for k, v in changes.items()})

    def legacy_milestones(self, properties: dict[str, str | None]) -> DealMilestones:
        return DealMilestones.named(properties, _MILESTONE_OF)

    async def deal_state(self, deal_id: str) -> DealState:
        properties, company = await self.client.deal_properties(deal_id, list(MILESTONE_PROPERTIES.values()))
        return DealState(deal_id=deal_id, company_id=company, milestones=DealMilestones.held(properties, _MILESTONE_OF))

    async def deals_with_states(self, deal_ids: list[str]) -> dict[str, tuple[Deal, DealState]]:
        """Batch reads: the deals, their line items and companies, and q2c's milestones in the same read."""
        found = await bulk.deals_many(self.client, deal_ids, list(MILESTONE_PROPERTIES.values()))
        out: dict[str, tuple[Deal, DealState]] = {}
        for deal_id, (deal, properties, company) in found.items():
            try:
                kind = deal_kind_from_hubspot(properties.get("dealtype"))
            except ValueError as refused:
                raise BusinessRuleError(self.name, f"deal {deal_id}: {refused}", code="INVALID_DEAL") from refused
            milestones = DealMilestones.held(properties, _MILESTONE_OF)
            state = DealState(deal_id=deal_id, company_id=company, milestones=milestones)
            out[deal_id] = (deal.model_copy(update={"kind": kind}), state)
        return out

    async def closed_won_page(self, after: str | None, limit: int, since: str | None, until: str | None) -> DealPage:
        ids, next_after = await self.client.closed_won_page(after, limit, since, until, by=WON_WINDOW)
        return DealPage(deal_ids=ids, next_after=next_after)

    async def read_company_attribute(self, company_id: str, attribute: str) -> str | None:
        return await self.client.company_property(company_id, _property(attribute))

    async def write_company_attribute(self, company_id: str, attribute: str, value: str | None) -> None:
        await self.client.update_company(company_id, {_property(attribute): value})

    async def open_renewal_deal(
        self, company_id: str, name: str, close_date: date, currency: str, lines: list[DealLine], idempotency_key: str
    ) -> str:
        """Upserted by q2c's deal key (a retry finds the deal it made); lines added only to a deal that has none."""
        amount = sum((line.amount.amount for line in lines), Decimal(0))
        properties: dict[str, str | None] = {
            "dealname": name,
            "dealstage": RENEWAL_STAGE,
            "pipeline": "default",
            "dealtype": "renewal",
            "closedate": close_date.isoformat(),
            "deal_currency_code": currency,
            "amount": str(amount),
        }
        deal_id, _ = await self.client.upsert("deals", "q2c_deal_key", idempotency_key, properties)
        await self.client.associate("deals", deal_id, "companies", company_id)
        if not await self.client.associated_ids("deals", deal_id, "line_items"):
            for line in lines:
                made = await self.client.call(
                    "POST", "/crm/v3/objects/line_items", json={"properties": line_to_hubspot(line)}
                )
                await self.client.associate("deals", deal_id, "line_items", str(made["id"]))
        return deal_id
