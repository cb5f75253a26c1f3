"""The CRM opportunity and its line items: what the saga starts from."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field, model_validator

from models.catalog import BillingFrequency
from models.money import Amount, Currency, Money, total
from models.party import Customer

CLOSED_WON = "closedwon"


class DealKind(StrEnum):
    """What a deal does to the customer's contract; each CRM's type field maps here (connectors/<crm>/mapping)."""

    NEW_BUSINESS = "new_business"
    EXPANSION = "expansion"
    CONTRACTION = "contraction"
    RENEWAL = "renewal"
    CANCELLATION = "cancellation"


class DealLine(BaseModel):
    id: str
    sku: str = Field(min_length=1)
    name: str
    quantity: Amount = Field(gt=0)
    unit_price: Money
    frequency: BillingFrequency = BillingFrequency.ONE_TIME
    start_date: date | None = None

    @property
    def amount(self) -> Money:
        return self.unit_price * self.quantity


class Deal(BaseModel):
    """A deal in one currency; mixed currencies are refused at the door."""

    id: str = Field(min_length=1)
    name: str
    stage: str
    currency: Currency
    close_date: date | None = None
    company: Customer | None = None
    lines: list[DealLine] = Field(default_factory=list)
    kind: DealKind = Field(default=DealKind.NEW_BUSINESS, description="from the CRM's deal type")
    properties: dict[str, str | None] = Field(default_factory=dict, description="other CRM properties")

    @model_validator(mode="after")
    def _one_currency(self) -> Deal:
        for index, line in enumerate(self.lines):
            if line.unit_price.currency != self.currency:
                raise ValueError(
                    f"lines[{index}].unit_price.currency is {line.unit_price.currency} but the deal is in "
                    f"{self.currency}: one deal, one currency"
                )
        return self

    @property
    def closed_won(self) -> bool:
        return self.stage == CLOSED_WON

    @property
    def amount(self) -> Money:
        return total([line.amount for line in self.lines], self.currency)

    def lines_by(self, recurring: bool) -> list[DealLine]:
        return [line for line in self.lines if line.frequency.recurring is recurring]

    def problems(self) -> list[str]:
        """Why this deal cannot become an order (empty when it can)."""
        found = []
        if not self.closed_won:
            found.append(f"the deal's stage is {self.stage!r}, not {CLOSED_WON!r}")
        if not self.lines:
            found.append("the deal has no line items")
        if self.company is None:
            found.append("the deal has no associated company")
        if self.lines and self.amount.amount <= Decimal(0):
            found.append("the deal's total is not positive")
        return found
