"""The proration rule q2c uses for a mid-term change, the one Stripe documents: by the second.

A change at `at` inside a billing period [start, end) credits the unused time of the old quantity and charges
the remaining time of the new one, each as its own line: unit amount x quantity x (end - at) / (end - start),
in the currency's minor units, rounded to the nearest unit, halves away from zero (Stripe's docs do not state
its rounding; this is the rule we state and hold both systems to). The ERP change order is priced with this
same function from the period the billing system reports, so ERP and billing agree to the minor unit.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, Field

from models.money import Money


class Period(BaseModel):
    """A billing period as the billing system holds it (Unix seconds, as Stripe counts)."""

    start: int
    end: int

    def seconds_left(self, at: int) -> int:
        """The seconds from `at` to the period's end; `at` must lie in a non-empty period."""
        if self.end <= self.start:
            raise ValueError(f"period {self.start}..{self.end} is empty")
        if not self.start <= at <= self.end:
            raise ValueError(f"proration date {at} is outside the period {self.start}..{self.end}")
        return self.end - at

    def fraction_left(self, at: int) -> Decimal:
        """The share of the period from `at` to its end: 1 at the start, 0 at the end."""
        return Decimal(self.seconds_left(at)) / Decimal(self.end - self.start)


class ProrationLine(BaseModel):
    """One line of a proration: negative for unused time credited, positive for remaining time charged."""

    sku: str
    quantity: int = Field(ge=0)
    amount: Money
    description: str


def prorated_minor(unit_minor: int, quantity: int, period: Period, at: int) -> int:
    """unit x quantity x share of the period left, to the minor unit (halves away from zero).

    Multiplied out before the one division: a share divided first is rounded to the context's 28 digits, and
    an exact half could then round the wrong way (7,269,234 x 261 x 61,398 / 463,896 is 251,109,274.5).
    """
    exact = Decimal(unit_minor * quantity * period.seconds_left(at)) / Decimal(period.end - period.start)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def proration_lines(
    sku: str, unit_amount: Money, before: int, after: int, period: Period, at: int
) -> list[ProrationLine]:
    """The credit for the old quantity and the charge for the new one (no line for a quantity of zero)."""
    unit, currency = unit_amount.to_minor_units(), unit_amount.currency
    lines = []
    if before:
        credit = -prorated_minor(unit, before, period, at)
        lines.append(
            ProrationLine(
                sku=sku,
                quantity=before,
                amount=Money.from_minor_units(credit, currency),
                description=f"Unused time on {before} x {sku}",
            )
        )
    if after:
        charge = prorated_minor(unit, after, period, at)
        lines.append(
            ProrationLine(
                sku=sku,
                quantity=after,
                amount=Money.from_minor_units(charge, currency),
                description=f"Remaining time on {after} x {sku}",
            )
        )
    return lines


def unix(moment: datetime) -> int:
    """A workflow time as the billing system's Unix second (truncated, as Stripe's timestamps are)."""
    return int(moment.timestamp())
