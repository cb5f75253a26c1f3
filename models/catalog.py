"""Products and how they are priced: recurring (subscriptions) or one-time (services)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from models.money import Money


class BillingFrequency(StrEnum):
    ONE_TIME = "one_time"
    MONTHLY = "monthly"
    ANNUALLY = "annually"

    @property
    def recurring(self) -> bool:
        return self is not BillingFrequency.ONE_TIME


class Price(BaseModel):
    unit_amount: Money
    frequency: BillingFrequency
    id: str | None = Field(default=None, description="the billing system's price id, if any")


class Product(BaseModel):
    sku: str = Field(min_length=1)
    name: str
    prices: list[Price] = Field(default_factory=list)
    service_tier: str | None = Field(default=None, description="support tier it entitles, if any")

    @property
    def recurring(self) -> bool:
        return any(price.frequency.recurring for price in self.prices)
