"""Customers (accounts) and their contacts."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from models.common import LifecycleStage, Region
from models.money import Currency, Money


class Address(BaseModel):
    model_config = ConfigDict(frozen=True)

    line1: str = Field(min_length=1)
    line2: str | None = None
    city: str = Field(min_length=1)
    postal_code: str | None = None
    region: str | None = None
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")


class TaxRegistration(BaseModel):
    model_config = ConfigDict(frozen=True)

    country: str = Field(pattern=r"^[A-Z]{2}$")
    number: str = Field(min_length=2)
    scheme: str = Field(default="vat", description="vat, gst, ein, ...")


class Contact(BaseModel):
    id: str | None = None
    first_name: str
    last_name: str
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = None
    role: str | None = None


class Customer(BaseModel):
    """The account: one legal entity buying from us, as every system should agree on it."""

    id: str = Field(min_length=1, description="q2c's key: the CRM company id")
    legal_name: str = Field(min_length=1)
    billing_address: Address | None = None
    tax_registration: TaxRegistration | None = None
    legal_entity: str = Field(default="1", description="our selling subsidiary (ERP subsidiary id)")
    currency: Currency
    region: Region
    stage: LifecycleStage = LifecycleStage.PROSPECT
    contacts: list[Contact] = Field(default_factory=list)
    credit_limit: Money | None = None
    balance: Money | None = None
    inactive: bool = False
    external_ids: dict[str, str] = Field(default_factory=dict, description="system -> id there")


class CreditPosition(BaseModel):
    """What the ERP says the customer owes and may owe: the credit check compares an order to it."""

    customer_id: str
    limit: Money | None = Field(description="None means no limit is set")
    balance: Money
    unbilled_orders: Money

    @property
    def exposure(self) -> Money:
        return self.balance + self.unbilled_orders

    def allows(self, order_total: Money, share: Decimal = Decimal(1)) -> bool:
        """Within `share` of the limit (a region may keep headroom); no limit set allows anything."""
        return self.limit is None or self.exposure + order_total <= self.limit * share
