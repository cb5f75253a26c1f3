"""The CRM: where deals close and where q2c reports how they are doing."""

from __future__ import annotations

from datetime import date
from typing import Protocol, runtime_checkable

from models.crm import DealMilestones, DealPage, DealState
from models.deal import Deal, DealLine


@runtime_checkable
class Crm(Protocol):
    name: str
    """The CRM's name in saga ids (`q2c-<name>-<deal id>`) and configuration (`Q2C_CRM`)."""

    async def get_deal(self, deal_id: str) -> Deal:
        """The deal with its lines and company; NotFound if there is none, BusinessRuleError if invalid."""
        ...

    async def update_deal(self, deal_id: str, milestones: DealMilestones) -> None:
        """Write the milestones set; the same write twice changes nothing."""
        ...

    def legacy_milestones(self, properties: dict[str, str | None]) -> DealMilestones:
        """Milestones from a property dict in this CRM's own names (activity inputs recorded before the port)."""
        ...

    async def deal_state(self, deal_id: str) -> DealState:
        """The milestones q2c wrote on the deal, and its company id."""
        ...

    async def closed_won_page(self, after: str | None, limit: int, since: str | None, until: str | None) -> DealPage:
        """Closed-won deals closed, entered closed-won or last changed within [since, until] (ISO dates; either
        may be None for open-ended), a page at a time from `after`: a deal whose close date says another day
        (set ahead, or backdated) is still found by when it was won or changed."""
        ...

    async def read_company_attribute(self, company_id: str, attribute: str) -> str | None:
        """A synchronised customer attribute (models.customer_sync.FIELDS) as the CRM holds it."""
        ...

    async def write_company_attribute(self, company_id: str, attribute: str, value: str | None) -> None:
        """Set a synchronised customer attribute; NotFound if the company does not exist."""
        ...

    async def open_renewal_deal(
        self, company_id: str, name: str, close_date: date, currency: str, lines: list[DealLine], idempotency_key: str
    ) -> str:
        """Open a renewal deal (in the pipeline, not won) on the company with these lines, once per key; its id."""
        ...


@runtime_checkable
class CrmBulkReads(Protocol):
    """Reads of many deals in a few requests (reconciliation at scale); a CRM without them is read one deal at
    a time (`Crm.get_deal`, `Crm.deal_state`)."""

    async def deals_with_states(self, deal_ids: list[str]) -> dict[str, tuple[Deal, DealState]]:
        """`get_deal` and `deal_state` for many deals; a deal not found is left out, an invalid one raises as
        `get_deal` does."""
        ...
