"""Seed data parallel to HubSpot's: the same catalog, companies and stories, as Salesforce records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulators.salesforce.records import Records
from simulators.seed import _BUNDLES, BY_SKU, CATALOG, FX, SeedCompany, companies, service_starts

FREQUENCY = {"one_time": "One-Time", "monthly": "Monthly", "annually": "Annual"}
CITIES = {"US": "Austin", "DE": "Berlin", "FR": "Paris", "NL": "Utrecht", "ES": "Madrid", "GB": "Manchester"}


def seed(records: Records, erp_customer: Callable[[str, SeedCompany], None] | None = None) -> dict[str, Any]:
    """Products in the standard price book in USD, EUR and GBP; accounts with a primary contact; open
    opportunities with line items. `erp_customer` is called for companies the ERP already knows."""
    pricebook = records.create("Pricebook2", {"Name": "Standard Price Book", "IsActive": True})
    pricebook["IsStandard"] = True  # the org's own standard price book: not writable through the API
    records.save("Pricebook2", pricebook)
    entries: dict[tuple[str, str], str] = {}
    for product in CATALOG:
        product_id = records.create(
            "Product2",
            {
                "Name": product.name,
                "ProductCode": product.sku,
                "IsActive": True,
                "Billing_Frequency__c": FREQUENCY[product.frequency],
            },
        )["Id"]
        for currency in FX:
            entry = records.create(
                "PricebookEntry",
                {
                    "Pricebook2Id": pricebook["Id"],
                    "Product2Id": product_id,
                    "UnitPrice": str(product.price(currency)),
                    "CurrencyIsoCode": currency,
                    "IsActive": True,
                },
            )
            entries[(product.sku, currency)] = entry["Id"]
    deals: dict[str, list[str]] = {"ordinary": [], "over_credit": [], "no_tax": [], "inactive": [], "existing": []}
    for index, company in enumerate(companies()):
        first, last = company.contact
        domain = company.name.split()[0].lower() + ".example"
        account = records.create(
            "Account",
            {
                "Name": company.name,
                "Website": domain,
                "BillingStreet": f"{200 + index} Harbour Road",
                "BillingCity": CITIES[company.country],
                "BillingPostalCode": f"{20000 + index}",
                "BillingCountry": company.country,
                "CurrencyIsoCode": company.currency,
                "Region__c": company.region,
                "VAT_Number__c": company.vat,
            },
        )
        contact = records.create(
            "Contact",
            {
                "AccountId": account["Id"],
                "FirstName": first,
                "LastName": last,
                "Email": f"{first}.{last}@{domain}".lower(),
            },
        )
        if company.erp is not None and erp_customer is not None:
            erp_customer(account["Id"], company)
        story = company.key if company.key in deals else "ordinary"
        for number in range(4 if story != "ordinary" else (2 if index % 2 else 1)):
            bundle = _BUNDLES[1] if story == "over_credit" else _BUNDLES[(index + number) % len(_BUNDLES)]
            opportunity = records.create(
                "Opportunity",
                {
                    "Name": f"{company.name} - {bundle[0]}",
                    "AccountId": account["Id"],
                    "StageName": "Negotiation/Review",
                    "CloseDate": "2026-11-30",
                    "CurrencyIsoCode": company.currency,
                    "Type": "New Business",
                    "Pricebook2Id": pricebook["Id"],
                },
            )
            records.create(
                "OpportunityContactRole",
                {
                    "OpportunityId": opportunity["Id"],
                    "ContactId": contact["Id"],
                    "Role": "Economic Buyer",
                    "IsPrimary": True,
                },
            )
            for sku in bundle:
                add_line(records, opportunity["Id"], entries[(sku, company.currency)], sku, index + number)
            deals[story].append(opportunity["Id"])
    return {"deals": deals, "pricebook": pricebook["Id"], "entries": {f"{k[0]}:{k[1]}": v for k, v in entries.items()}}


def add_line(records: Records, opportunity_id: str, entry_id: str, sku: str, salt: int) -> None:
    product = BY_SKU[sku]
    quantity = 1 + (salt % 3) * 4 if sku == "SEAT-ADD" else (2 if sku == "TRAIN-DAY" else 1)
    line: dict[str, Any] = {"OpportunityId": opportunity_id, "PricebookEntryId": entry_id, "Quantity": quantity}
    if product.frequency != "one_time":
        line["ServiceDate"] = service_starts()
    records.create("OpportunityLineItem", line)
