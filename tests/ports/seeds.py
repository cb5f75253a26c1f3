"""How each CRM simulator makes a deal for the CRM suite: the one vendor-specific part of the kit."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal

from simulators.seed import BY_SKU, service_starts
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
            properties["hs_recurring_billing_start_date"] = service_starts()
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
            line["ServiceDate"] = service_starts()
        records.create("OpportunityLineItem", line)
    return str(opportunity["Id"])


DEALS: dict[str, DealMaker] = {"hubspot": hubspot_deal, "salesforce": salesforce_deal}


# Each CRM's own value of its deal type field for each q2c deal kind (docs/contracts.md), and one it has that
# does not say what a deal does to a contract (refused, never guessed).
DEAL_TYPES: dict[str, dict[str, str]] = {
    "hubspot": {
        "new_business": "newbusiness",
        "expansion": "expansion",
        "contraction": "contraction",
        "renewal": "renewal",
        "cancellation": "cancellation",
        "unclear": "existingbusiness",
    },
    "salesforce": {
        "new_business": "New Business",
        "expansion": "Existing Customer - Upgrade",
        "contraction": "Existing Customer - Downgrade",
        "renewal": "Renewal",
        "cancellation": "Cancellation",
        "unclear": "Existing Customer - Replacement",
    },
}


def set_hubspot_type(sim: Sim, deal_id: str, value: str) -> None:
    hs = sim.app.state.apps["hubspot"].state
    hs.update("deals", sim.store.get("hubspot", "deals", deal_id), {"dealtype": value})


def set_salesforce_type(sim: Sim, deal_id: str, value: str) -> None:
    sim.app.state.apps["salesforce"].state.records.update("Opportunity", deal_id, {"Type": value})


SET_TYPE: dict[str, Callable[[Sim, str, str], None]] = {"hubspot": set_hubspot_type, "salesforce": set_salesforce_type}
