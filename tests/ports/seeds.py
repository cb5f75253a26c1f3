"""How each CRM simulator makes a deal for the CRM suite: the one vendor-specific part of the kit."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal

from simulators.seed import BY_SKU
from tests.conftest import Sim

# (sim, skus, stage: "won" or "open", close date) -> deal id
DealMaker = Callable[[Sim, list[str], str, str], str]


def hubspot_deal(sim: Sim, skus: list[str], stage: str, close_date: str) -> str:
    hs = sim.app.state.apps["hubspot"].state
    company = next(c for c in sim.records("hubspot", "companies")[4:] if c["properties"].get("currency") == "USD")
    lines = []
    for sku in skus:
        product = BY_SKU[sku]
        properties = {"name": product.name, "quantity": "2", "price": str(product.price("USD")), "hs_sku": sku}
        if product.frequency != "one_time":
            properties["recurringbillingfrequency"] = product.frequency
            properties["hs_recurring_billing_start_date"] = "2026-12-01"
        lines.append(hs.create("line_items", properties))
    amount = sum(Decimal(line["properties"]["price"]) * 2 for line in lines)
    deal = hs.create(
        "deals",
        {
            "dealname": f"port {uuid.uuid4().hex[:6]}",
            "amount": str(amount),
            "dealstage": "closedwon" if stage == "won" else "contractsent",
            "deal_currency_code": "USD",
            "closedate": close_date,
        },
    )
    hs.associate("deals", deal["id"], "companies", company["id"])
    for line in lines:
        hs.associate("deals", deal["id"], "line_items", line["id"])
    return str(deal["id"])


def salesforce_deal(sim: Sim, skus: list[str], stage: str, close_date: str) -> str:
    """An opportunity on a seeded USD account, its lines from the standard price book."""
    records = sim.app.state.apps["salesforce"].state.records
    manifest = sim.manifest["salesforce"]
    account = next(a for a in sim.records("salesforce", "Account")[4:] if a.get("CurrencyIsoCode") == "USD")
    opportunity = records.create(
        "Opportunity",
        {
            "Name": f"port {uuid.uuid4().hex[:6]}",
            "AccountId": account["Id"],
            "StageName": "Closed Won" if stage == "won" else "Negotiation/Review",
            "CloseDate": close_date,
            "CurrencyIsoCode": "USD",
            "Pricebook2Id": manifest["pricebook"],
        },
    )
    for sku in skus:
        line = {
            "OpportunityId": opportunity["Id"],
            "PricebookEntryId": manifest["entries"][f"{sku}:USD"],
            "Quantity": 2,
        }
        if BY_SKU[sku].frequency != "one_time":
            line["ServiceDate"] = "2026-12-01"
        records.create("OpportunityLineItem", line)
    return str(opportunity["Id"])


DEALS: dict[str, DealMaker] = {"hubspot": hubspot_deal, "salesforce": salesforce_deal}
