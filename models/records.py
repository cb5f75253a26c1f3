"""Canonical records that reconciliation and audits read through the ports: what each system holds now."""

from __future__ import annotations

from pydantic import BaseModel, Field

from models.catalog import BillingFrequency
from models.money import Money
from models.orders import SubscriptionStatus


class ErpCatalog(BaseModel):
    """Active ERP items for a deal's SKUs, and the support tier each entitles."""

    items: dict[str, str] = Field(description="sku -> ERP item id")
    tiers: dict[str, str] = Field(default_factory=dict, description="sku -> support tier")


class BilledSubscription(BaseModel):
    """A subscription as billed: what it charges each period, whatever the billing system's item shape."""

    id: str
    status: SubscriptionStatus
    frequency: BillingFrequency
    amount: Money = Field(description="charged each period: unit price x quantity over all items")
    latest_invoice_id: str | None = None
    saga_id: str | None = Field(default=None, description="the saga that made it, from its tags")
    bills_from: int | None = Field(
        default=None, description="Unix second its billing starts (a term after the sale), while nothing is invoiced"
    )

    @property
    def live(self) -> bool:
        return self.status in LIVE


LIVE = frozenset(
    {SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING, SubscriptionStatus.PAST_DUE, SubscriptionStatus.INCOMPLETE}
)
