"""Seed data shaped like a real B2B SaaS company: catalog, 50+ companies, open deals, ERP customers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fastapi import FastAPI

from simulators.netsuite.currencies import reference as currency_reference
from simulators.store import Store

FX = {"USD": Decimal(1), "EUR": Decimal("0.92"), "GBP": Decimal("0.79")}
REGIONS = {"na": ("USD", "1", ["US"]), "emea": ("EUR", "2", ["DE", "FR", "NL", "ES"]), "uk": ("GBP", "3", ["GB"])}


def service_starts() -> str:
    """A seeded deal's service starts the day it is seeded, so its subscriptions are billed at the sale on any
    date the demo runs (a term starting later is billed from that day: tests/test_billing_term_start.py)."""
    return datetime.now(UTC).date().isoformat()


@dataclass(frozen=True)
class SeedProduct:
    sku: str
    name: str
    usd: int
    frequency: str  # one_time | monthly | annually
    tier: str | None = None

    def price(self, currency: str) -> Decimal:
        return (self.usd * FX[currency]).quantize(Decimal(1), rounding=ROUND_HALF_UP)


CATALOG = (
    SeedProduct("PLAT-ENT", "Platform Enterprise (annual)", 48000, "annually", "enterprise"),
    SeedProduct("PLAT-PRO", "Platform Professional (annual)", 18000, "annually", "premium"),
    SeedProduct("PLAT-TEAM", "Platform Team (monthly)", 990, "monthly", "standard"),
    SeedProduct("SEAT-ADD", "Additional seat (monthly)", 49, "monthly"),
    SeedProduct("API-ADDON", "API access add-on (annual)", 6000, "annually"),
    SeedProduct("SSO-ADDON", "SSO and SCIM add-on (annual)", 3000, "annually"),
    SeedProduct("SUP-PREM", "Premium support (annual)", 12000, "annually", "premium"),
    SeedProduct("SUP-247", "24x7 support (annual)", 24000, "annually", "enterprise"),
    SeedProduct("IMPL-STD", "Standard implementation", 15000, "one_time"),
    SeedProduct("IMPL-PREM", "Premium implementation", 40000, "one_time"),
    SeedProduct("TRAIN-DAY", "Training day (on site)", 2500, "one_time"),
    SeedProduct("DATA-MIG", "Data migration service", 8000, "one_time"),
)
BY_SKU = {p.sku: p for p in CATALOG}

_FIRST = [
    "Northwind",
    "Bluebird",
    "Cobalt",
    "Juniper",
    "Helios",
    "Vantage",
    "Quarry",
    "Meridian",
    "Lumen",
    "Harbor",
    "Summit",
    "Kestrel",
    "Atlas",
    "Copper",
    "Evergreen",
    "Falcon",
    "Granite",
    "Ironwood",
]
_SECOND = ["Analytics", "Logistics", "Health", "Robotics", "Foods", "Energy", "Capital", "Labs", "Media"]
_SUFFIX = {"na": "Inc.", "emea": "GmbH", "uk": "Ltd"}
_PEOPLE = [
    ("Ada", "Lovelace"),
    ("Grace", "Hopper"),
    ("Alan", "Turing"),
    ("Edsger", "Dijkstra"),
    ("Barbara", "Liskov"),
    ("Donald", "Knuth"),
    ("Frances", "Allen"),
    ("Ken", "Thompson"),
]
_BUNDLES = [
    ["PLAT-PRO", "IMPL-STD"],
    ["PLAT-ENT", "SUP-247", "IMPL-PREM"],
    ["PLAT-TEAM", "SEAT-ADD"],
    ["PLAT-PRO", "SSO-ADDON", "TRAIN-DAY"],
    ["PLAT-ENT", "API-ADDON", "DATA-MIG"],
    ["PLAT-TEAM", "SUP-PREM"],
    ["PLAT-PRO", "API-ADDON", "SUP-PREM", "IMPL-STD"],
]

# Companies with a story; the rest are ordinary customers.
SPECIAL = {
    "over_credit": ("Overline Capital Inc.", "na", {"creditLimit": 20000.0, "balance": 15000.0}),
    "no_tax": ("Nordwind Handel GmbH", "emea", None),
    "inactive": ("Dormant Industries Ltd", "uk", {"isInactive": True, "creditLimit": 500000.0}),
    "existing": ("Acme Existing Corp Inc.", "na", {"creditLimit": 1000000.0, "balance": 42000.0}),
}


@dataclass(frozen=True)
class SeedCompany:
    key: str
    name: str
    region: str
    country: str
    vat: str | None
    erp: dict[str, Any] | None
    contact: tuple[str, str]

    @property
    def currency(self) -> str:
        return REGIONS[self.region][0]


def companies() -> list[SeedCompany]:
    found: list[SeedCompany] = []
    for key, (name, region, erp) in SPECIAL.items():
        country = REGIONS[region][2][0]
        found.append(
            SeedCompany(
                key,
                name,
                region,
                country,
                None if key == "no_tax" else f"{country}VAT9000{len(found)}",
                erp,
                _PEOPLE[len(found) % len(_PEOPLE)],
            )
        )
    regions = list(REGIONS)
    for index in range(52):
        region = regions[index % 3]
        countries = REGIONS[region][2]
        country = countries[(index // 3) % len(countries)]
        name = f"{_FIRST[index % len(_FIRST)]} {_SECOND[index // len(_FIRST) % len(_SECOND)]} {_SUFFIX[region]}"
        found.append(
            SeedCompany(
                f"c{index:02d}",
                name,
                region,
                country,
                f"{country}{700000000 + index * 7919}",
                None,
                _PEOPLE[index % len(_PEOPLE)],
            )
        )
    return found


def seed(store: Store, hubspot: FastAPI, stripe: FastAPI) -> dict[str, Any]:
    """Fill every simulator; returns a manifest: deal ids by story, counts."""
    create, associate = hubspot.state.create, hubspot.state.associate
    deals: dict[str, list[str]] = {"ordinary": [], "over_credit": [], "no_tax": [], "inactive": [], "existing": []}
    for number, product in enumerate(CATALOG):
        item_id = str(10 + number)
        store.put(
            "netsuite",
            "nonInventorySaleItem",
            item_id,
            {
                "id": item_id,
                "externalId": product.sku,
                "itemId": product.sku,
                "displayName": product.name,
                "basePrice": float(product.usd),
                "isInactive": False,
                "custitem_q2c_service_tier": product.tier,
            },
        )
        if product.frequency == "one_time":
            continue
        stripe_product = stripe.state.new(
            "product", {"name": product.name, "active": True, "metadata": {"sku": product.sku}}
        )
        interval = "year" if product.frequency == "annually" else "month"
        for currency in FX:
            stripe.state.new(
                "price",
                {
                    "product": stripe_product["id"],
                    "currency": currency.lower(),
                    "active": True,
                    "unit_amount": int(product.price(currency) * 100),
                    "type": "recurring",
                    "recurring": {"interval": interval, "interval_count": 1},
                    "lookup_key": f"{product.sku}:{currency}".lower(),
                    "metadata": {"sku": product.sku},
                },
            )
    for index, company in enumerate(companies()):
        first, last = company.contact
        domain = company.name.split()[0].lower() + ".example"
        record = create(
            "companies",
            {
                "name": company.name,
                "domain": domain,
                "address": f"{100 + index} Market Street",
                "city": {
                    "US": "Austin",
                    "DE": "Berlin",
                    "FR": "Paris",
                    "NL": "Utrecht",
                    "ES": "Madrid",
                    "GB": "Manchester",
                }[company.country],
                "zip": f"{10000 + index}",
                "country": company.country,
                "q2c_region": company.region,
                "vat_number": company.vat,
                "currency": company.currency,
                "contact_email": f"{first.lower()}.{last.lower()}@{domain}",
                "contact_firstname": first,
                "contact_lastname": last,
                "lifecyclestage": "opportunity",
            },
        )
        if company.erp is not None:
            erp_customer(store, record["id"], company)
        story = company.key if company.key in deals else "ordinary"
        for deal_number in range(4 if story != "ordinary" else (2 if index % 2 else 1)):
            bundle = _BUNDLES[1] if story == "over_credit" else _BUNDLES[(index + deal_number) % len(_BUNDLES)]
            deal_id = _seed_deal(create, associate, record["id"], company, bundle, index + deal_number)
            deals[story].append(deal_id)
    return {"deals": deals, "companies": len(companies()), "products": len(CATALOG)}


def _seed_deal(create: Any, associate: Any, company_id: str, company: SeedCompany, bundle: list[str], salt: int) -> str:
    lines, amount = [], Decimal(0)
    for sku in bundle:
        product = BY_SKU[sku]
        quantity = 1 + (salt % 3) * 4 if sku == "SEAT-ADD" else (2 if sku == "TRAIN-DAY" else 1)
        unit = product.price(company.currency)
        amount += unit * quantity
        properties = {"name": product.name, "quantity": str(quantity), "price": str(unit), "hs_sku": sku}
        if product.frequency != "one_time":
            properties["recurringbillingfrequency"] = product.frequency
            properties["hs_recurring_billing_start_date"] = service_starts()
        lines.append(create("line_items", properties))
    deal = create(
        "deals",
        {
            "dealname": f"{company.name} - {bundle[0]}",
            "amount": str(amount),
            "dealstage": "contractsent",
            "pipeline": "default",
            "closedate": "2026-11-30",
            "deal_currency_code": company.currency,
        },
    )
    associate("deals", deal["id"], "companies", company_id)
    for line in lines:
        associate("deals", deal["id"], "line_items", line["id"])
    return str(deal["id"])


def erp_customer(store: Store, external_id: str, company: SeedCompany) -> None:
    """A customer the ERP already has, keyed by the CRM's company id (HubSpot's or Salesforce's)."""
    assert company.erp is not None
    ns_id = str(store.next_id("netsuite:customer", 100))
    store.put(
        "netsuite",
        "customer",
        ns_id,
        {
            "id": ns_id,
            "externalId": external_id,
            "entityId": f"CUST{ns_id}",
            "companyName": company.name,
            "currency": currency_reference(company.currency),
            "subsidiary": {"id": REGIONS[company.region][1]},
            "defaultTaxReg": company.vat,
            "overdueBalance": 0.0,
            "unbilledOrders": 0.0,
            "balance": 0.0,
            "isInactive": False,
            **company.erp,
        },
    )
