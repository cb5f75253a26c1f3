"""Driving the HubSpot simulator from outside, as its users would: deals imported through the batch API,
a deal closed, what a seeded deal holds. For the demo, the benchmarks and the chaos suite."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from simulators.seed import BY_SKU, service_starts
from simulators.store import Store

NAME = "hubspot"
TOKEN = {"Authorization": "Bearer pat-na1-q2c-dev"}
FULL = ["PLAT-PRO", "IMPL-STD", "PLAT-TEAM"]
_COMPANY = 5  # HubSpot's association type ids: deal -> company, deal -> line item
_LINE = 19


async def close_deal(admin: httpx.AsyncClient, deal_id: str) -> None:
    """Move a seeded deal to closed-won: HubSpot sends its signed webhook (`admin`: the simulators' /_sim)."""
    (await admin.post(f"/{NAME}/deals/{deal_id}/close")).raise_for_status()


def deals(manifest: dict[str, Any]) -> dict[str, list[str]]:
    """The seeded deals by story (ordinary, over_credit, no_tax, inactive, existing)."""
    found: dict[str, list[str]] = manifest["deals"]
    return found


def has_one_time_lines(store: Store, deal_id: str) -> bool:
    """Whether a deal has a line billed once (no recurring frequency): one the ERP invoices."""
    lines = store.require(NAME, "deals", deal_id)["associations"]["line_items"]
    return any(not store.require(NAME, "line_items", i)["properties"].get("recurringbillingfrequency") for i in lines)


def make_deals(
    sim_url: str, count: int, skus: list[str] = FULL, company: str | None = None, stage: str = "closedwon"
) -> list[str]:
    """Create deals in a HubSpot deal stage through the batch API, 100 at a time, as a CRM import would; each
    on a USD company past the first three (or on `company`), its lines at the catalog's USD list prices."""
    with httpx.Client(base_url=f"{sim_url}/{NAME}", headers=TOKEN, timeout=60) as hs:
        targets = [company] if company else [c["id"] for c in _usd_companies(hs)[3:]]
        deal_ids: list[str] = []
        for start in range(0, count, 100):
            size = min(100, count - start)
            inputs = [{"properties": _line(sku)} for _ in range(size) for sku in skus]
            lines = hs.post("/crm/v3/objects/line_items/batch/create", json={"inputs": inputs}).json()["results"]
            deals = [
                _deal(
                    f"bench {start + index}",
                    stage,
                    targets[(start + index) % len(targets)],
                    lines[index * len(skus) : (index + 1) * len(skus)],
                )
                for index in range(size)
            ]
            created = hs.post("/crm/v3/objects/deals/batch/create", json={"inputs": deals}).json()["results"]
            deal_ids += [d["id"] for d in created]
        return deal_ids


def _line(sku: str) -> dict[str, str]:
    product = BY_SKU[sku]
    properties = {"name": sku, "quantity": "1", "price": str(product.price("USD")), "hs_sku": sku}
    if product.frequency != "one_time":
        properties |= {
            "recurringbillingfrequency": product.frequency,
            "hs_recurring_billing_start_date": service_starts(),
        }
    return properties


def _deal(name: str, stage: str, company: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    links = [_link(company, _COMPANY)] + [_link(line["id"], _LINE) for line in lines]
    amount = sum(Decimal(line["properties"]["price"]) for line in lines)
    properties = {
        "dealname": name,
        "dealstage": stage,
        "amount": str(amount),
        "deal_currency_code": "USD",
    }
    return {"properties": properties, "associations": links}


def _link(to: str, type_id: int) -> dict[str, Any]:
    return {"to": {"id": to}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}


def _usd_companies(hs: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = None
    while True:
        params: dict[str, str | int] = {"limit": 100, "properties": "currency,name"}
        if after:
            params["after"] = after
        page = hs.get("/crm/v3/objects/companies", params=params).json()
        found += [c for c in page["results"] if c["properties"].get("currency") == "USD"]
        after = page.get("paging", {}).get("next", {}).get("after")
        if not after:
            return found
