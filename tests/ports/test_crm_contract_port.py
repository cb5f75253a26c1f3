"""The Crm port's contract methods: every CRM adapter reads its deal type as q2c's deal kind (refusing one that
does not say what the deal does) and opens a renewal deal in the pipeline, with its lines, once per key."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from connectors.errors import BusinessRuleError
from models.catalog import BillingFrequency
from models.deal import DealKind, DealLine
from models.money import Money
from simulators.seed import BY_SKU
from tests.ports.seeds import DEAL_TYPES, DEALS, SET_TYPE


def typed_deal(crm, sim, value: str) -> str:
    deal_id = DEALS[crm.name](sim, ["PLAT-PRO"], "won", "2032-02-15")
    SET_TYPE[crm.name](sim, deal_id, value)
    return deal_id


@pytest.mark.parametrize("kind", list(DealKind))
async def test_the_deal_type_reads_as_its_kind(crm, sim, kind):
    deal = await crm.get_deal(typed_deal(crm, sim, DEAL_TYPES[crm.name][kind.value]))
    assert deal.kind is kind and deal.closed_won


async def test_a_deal_without_a_type_is_new_business(crm, sim):
    deal = await crm.get_deal(DEALS[crm.name](sim, ["PLAT-PRO"], "won", "2032-02-15"))
    assert deal.kind is DealKind.NEW_BUSINESS


async def test_a_deal_type_that_does_not_say_what_it_does_is_refused_naming_it(crm, sim):
    unclear = DEAL_TYPES[crm.name]["unclear"]
    with pytest.raises(BusinessRuleError, match=unclear) as refused:
        await crm.get_deal(typed_deal(crm, sim, unclear))
    assert refused.value.code == "INVALID_DEAL" and not refused.value.retryable


def renewal_lines(close: date) -> list[DealLine]:
    uplifted = Money(amount=BY_SKU["PLAT-PRO"].price("USD") * 105 / 100, currency="USD")
    return [
        DealLine(
            id="PLAT-PRO",
            sku="PLAT-PRO",
            name="PLAT-PRO",
            quantity=3,
            unit_price=uplifted,
            frequency=BillingFrequency.ANNUALLY,
            start_date=close,
        )
    ]


async def test_a_renewal_deal_opens_in_the_pipeline_with_its_lines_once_per_key(crm, sim):
    company = (await crm.get_deal(DEALS[crm.name](sim, ["PLAT-PRO"], "won", "2032-02-15"))).company
    assert company is not None
    close, key = date(2033, 11, 30), f"q2c-contract-porttest-{uuid.uuid4().hex[:8]}:renewal_deal:1"
    lines = renewal_lines(close)
    deal_id = await crm.open_renewal_deal(company.id, "Renewal port test", close, "USD", lines, key)
    assert await crm.open_renewal_deal(company.id, "Renewal port test", close, "USD", lines, key) == deal_id
    deal = await crm.get_deal(deal_id)
    assert deal.kind is DealKind.RENEWAL and not deal.closed_won  # pipeline: the CRM's people work it
    assert deal.company is not None and deal.company.id == company.id and deal.currency == "USD"
    assert [(x.sku, x.quantity, x.unit_price) for x in deal.lines] == [("PLAT-PRO", 3, lines[0].unit_price)]
    assert [x.frequency for x in deal.lines] == [BillingFrequency.ANNUALLY]
    other = await crm.open_renewal_deal(company.id, "Another", close, "USD", lines, f"{key}-other")
    assert other != deal_id
