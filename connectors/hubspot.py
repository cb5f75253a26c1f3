"""HubSpot CRM v3: deals with line items and company in, milestones out, idProperty upserts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from pydantic import ValidationError

from connectors.errors import BusinessRuleError
from connectors.http import VendorClient
from connectors.settings import HubSpotSettings
from models.catalog import BillingFrequency
from models.common import Region
from models.deal import Deal, DealLine
from models.money import Money
from models.party import Address, Contact, Customer, TaxRegistration

DEAL_PROPERTIES = [
    "dealname",
    "amount",
    "dealstage",
    "closedate",
    "pipeline",
    "deal_currency_code",
    "erp_order_number",
    "q2c_status",
]
LINE_PROPERTIES = [
    "name",
    "quantity",
    "price",
    "hs_sku",
    "hs_product_id",
    "recurringbillingfrequency",
    "hs_recurring_billing_start_date",
]
COMPANY_PROPERTIES = [
    "name",
    "address",
    "address2",
    "city",
    "zip",
    "state",
    "country",
    "q2c_region",
    "vat_number",
    "legal_entity",
    "currency",
    "contact_email",
    "contact_firstname",
    "contact_lastname",
]
_FREQUENCY = {
    None: BillingFrequency.ONE_TIME,
    "": BillingFrequency.ONE_TIME,
    "monthly": BillingFrequency.MONTHLY,
    "annually": BillingFrequency.ANNUALLY,
}
_REGION_BY_CURRENCY = {"USD": Region.NA, "EUR": Region.EMEA, "GBP": Region.UK}


def _decimal(value: str | None, where: str) -> Decimal:
    try:
        return Decimal(value or "")
    except InvalidOperation:
        raise ValueError(f"{where} is {value!r}, not a number") from None


def line_from_hubspot(record: dict[str, Any], currency: str) -> DealLine:
    p = record["properties"]
    frequency = p.get("recurringbillingfrequency")
    if frequency not in _FREQUENCY:
        raise ValueError(f"line_items[{record['id']}].recurringbillingfrequency {frequency!r} is not supported")
    start = p.get("hs_recurring_billing_start_date")
    return DealLine(
        id=record["id"],
        sku=p.get("hs_sku") or p.get("hs_product_id") or "",
        name=p.get("name") or "",
        quantity=_decimal(p.get("quantity"), f"line_items[{record['id']}].quantity"),
        unit_price=Money(amount=_decimal(p.get("price"), f"line_items[{record['id']}].price"), currency=currency),
        frequency=_FREQUENCY[frequency],
        start_date=date.fromisoformat(start) if start else None,
    )


def line_to_hubspot(line: DealLine) -> dict[str, str]:
    properties = {
        "name": line.name,
        "quantity": str(line.quantity),
        "price": str(line.unit_price.amount),
        "hs_sku": line.sku,
    }
    if line.frequency.recurring:
        properties["recurringbillingfrequency"] = line.frequency.value
    if line.start_date:
        properties["hs_recurring_billing_start_date"] = line.start_date.isoformat()
    return properties


def company_from_hubspot(record: dict[str, Any]) -> Customer:
    p = record["properties"]
    currency = (p.get("currency") or "USD").upper()
    address = None
    if p.get("address") and p.get("city") and p.get("country"):
        address = Address(
            line1=p["address"],
            line2=p.get("address2"),
            city=p["city"],
            postal_code=p.get("zip"),
            region=p.get("state"),
            country=p["country"],
        )
    tax = TaxRegistration(country=p.get("country") or "US", number=p["vat_number"]) if p.get("vat_number") else None
    contacts = []
    if p.get("contact_email"):
        contacts.append(
            Contact(
                first_name=p.get("contact_firstname") or "",
                last_name=p.get("contact_lastname") or "",
                email=p["contact_email"],
            )
        )
    region = p.get("q2c_region") or _REGION_BY_CURRENCY.get(currency, Region.NA)
    return Customer(
        id=record["id"],
        legal_name=p.get("name") or "",
        billing_address=address,
        tax_registration=tax,
        legal_entity=p.get("legal_entity") or "1",
        currency=currency,
        region=region,
        contacts=contacts,
        external_ids={"crm": record["id"]},
    )


def company_to_hubspot(customer: Customer) -> dict[str, str | None]:
    address, tax = customer.billing_address, customer.tax_registration
    contact = customer.contacts[0] if customer.contacts else None
    return {
        "name": customer.legal_name,
        "address": address.line1 if address else None,
        "address2": address.line2 if address else None,
        "city": address.city if address else None,
        "zip": address.postal_code if address else None,
        "state": address.region if address else None,
        "country": address.country if address else None,
        "q2c_region": customer.region.value,
        "vat_number": tax.number if tax else None,
        "legal_entity": customer.legal_entity,
        "currency": customer.currency,
        "contact_email": contact.email if contact else None,
        "contact_firstname": contact.first_name if contact else None,
        "contact_lastname": contact.last_name if contact else None,
    }


class HubSpotClient(VendorClient):
    system = "hubspot"

    def __init__(
        self, settings: HubSpotSettings | None = None, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(settings or HubSpotSettings(), transport)

    def vendor_error(self, response: httpx.Response) -> tuple[str | None, str]:
        body = self.body(response) or {}
        errors = body.get("errors") or []
        code = (errors[0].get("code") if errors else None) or body.get("errorType") or body.get("category")
        return code, body.get("message") or response.text[:300]

    def rate_limit_delay(self, response: httpx.Response) -> float | None:
        delay = super().rate_limit_delay(response)
        if delay is None and (interval := response.headers.get("x-hubspot-ratelimit-interval-milliseconds")):
            delay = int(interval) / 1000
        return delay

    async def get_deal(self, deal_id: str) -> Deal:
        """The deal with its line items and company, in canonical form."""
        response = await self.request(
            "GET",
            f"/crm/v3/objects/deals/{deal_id}",
            params={"properties": ",".join(DEAL_PROPERTIES), "associations": "line_items,companies"},
        )
        record = response.json()
        links = record.get("associations", {})
        line_ids = [r["id"] for r in links.get("line_items", {}).get("results", [])]
        company_ids = [r["id"] for r in links.get("companies", {}).get("results", [])]
        lines = await self.read_batch("line_items", line_ids, LINE_PROPERTIES) if line_ids else []
        company = await self.get_company(company_ids[0]) if company_ids else None
        p = record["properties"]
        try:
            currency = (p.get("deal_currency_code") or (company.currency if company else "USD")).upper()
            return Deal(
                id=record["id"],
                name=p.get("dealname") or "",
                stage=p.get("dealstage") or "",
                currency=currency,
                close_date=(p.get("closedate") or "")[:10] or None,
                company=company,
                lines=[line_from_hubspot(line, currency) for line in lines],
                properties={k: v for k, v in p.items() if k not in DEAL_PROPERTIES[:6]},
            )
        except (ValidationError, ValueError) as exc:
            raise BusinessRuleError(self.system, f"deal {deal_id} is not valid: {exc}", code="INVALID_DEAL") from exc

    async def get_company(self, company_id: str) -> Customer:
        response = await self.request(
            "GET", f"/crm/v3/objects/companies/{company_id}", params={"properties": ",".join(COMPANY_PROPERTIES)}
        )
        try:
            return company_from_hubspot(response.json())
        except (ValidationError, ValueError) as exc:
            raise BusinessRuleError(
                self.system, f"company {company_id} is not valid: {exc}", code="INVALID_COMPANY"
            ) from exc

    async def read_batch(self, object_type: str, ids: list[str], properties: list[str]) -> list[dict[str, Any]]:
        response = await self.request(
            "POST",
            f"/crm/v3/objects/{object_type}/batch/read",
            json={"inputs": [{"id": i} for i in ids], "properties": properties},
        )
        body = response.json()
        if response.status_code == 207:
            raise BusinessRuleError(
                self.system,
                f"some {object_type} are missing: {body.get('errors')}",
                code="OBJECT_NOT_FOUND",
                status=207,
            )
        by_id = {r["id"]: r for r in body["results"]}
        return [by_id[i] for i in ids if i in by_id]

    async def deal_properties(self, deal_id: str, names: list[str]) -> tuple[dict[str, Any], str | None]:
        """A few of the deal's properties and its company id: for writes that must not go backwards."""
        response = await self.request(
            "GET",
            f"/crm/v3/objects/deals/{deal_id}",
            params={"properties": ",".join(names), "associations": "companies"},
        )
        record = response.json()
        companies = record.get("associations", {}).get("companies", {}).get("results", [])
        return record["properties"], (str(companies[0]["id"]) if companies else None)

    async def company_property(self, company_id: str, name: str) -> str | None:
        response = await self.request("GET", f"/crm/v3/objects/companies/{company_id}", params={"properties": name})
        value = response.json()["properties"].get(name)
        return None if value is None else str(value)

    async def update_company(self, company_id: str, properties: dict[str, str | None]) -> None:
        await self.request("PATCH", f"/crm/v3/objects/companies/{company_id}", json={"properties": properties})

    async def update_deal(self, deal_id: str, properties: dict[str, str | None]) -> None:
        """Write properties back to the deal: a PATCH of the same values is naturally idempotent."""
        await self.request("PATCH", f"/crm/v3/objects/deals/{deal_id}", json={"properties": properties})

    async def upsert(
        self, object_type: str, id_property: str, key: str, properties: dict[str, str | None]
    ) -> tuple[str, bool]:
        """Create or update by a unique property; returns (id, created)."""
        response = await self.request(
            "POST",
            f"/crm/v3/objects/{object_type}/batch/upsert",
            json={"inputs": [{"idProperty": id_property, "id": key, "properties": properties}]},
        )
        result = response.json()["results"][0]
        return str(result["id"]), bool(result.get("new"))

    async def search_ids(self, object_type: str, property_name: str, value: str, limit: int = 100) -> list[str]:
        ids, after = [], None
        while True:
            body: dict[str, Any] = {
                "filterGroups": [{"filters": [{"propertyName": property_name, "operator": "EQ", "value": value}]}],
                "limit": limit,
            }
            if after:
                body["after"] = after
            page = (await self.request("POST", f"/crm/v3/objects/{object_type}/search", json=body)).json()
            ids += [r["id"] for r in page["results"]]
            after = page.get("paging", {}).get("next", {}).get("after")
            if not after:
                return ids

    async def closed_won_page(
        self, after: str | None, limit: int, since: str | None, until: str | None
    ) -> tuple[list[str], str | None]:
        """One page of closed-won deal ids, closed within [since, until]; and where the next page starts."""
        filters: list[dict[str, Any]] = [{"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}]
        if since:
            filters.append({"propertyName": "closedate", "operator": "GTE", "value": since})
        if until:
            filters.append({"propertyName": "closedate", "operator": "LTE", "value": until})
        body: dict[str, Any] = {"filterGroups": [{"filters": filters}], "limit": limit, "properties": ["dealstage"]}
        if after:
            body["after"] = after
        page = (await self.request("POST", "/crm/v3/objects/deals/search", json=body)).json()
        return [r["id"] for r in page["results"]], page.get("paging", {}).get("next", {}).get("after")

    async def associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        await self.request("PUT", f"/crm/v4/objects/{from_type}/{from_id}/associations/default/{to_type}/{to_id}")
