"""Hubspot records to and from canonical models: every field name of the vendor's, in one place."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from models.catalog import BillingFrequency
from models.common import Region
from models.deal import DealKind, DealLine
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
    "dealtype",
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


# q2c's milestones on a deal (models.crm.DealMilestones) -> the deal properties q2c created for them
MILESTONE_PROPERTIES = {
    "status": "q2c_status",
    "status_reason": "q2c_status_reason",
    "saga_id": "q2c_saga_id",
    "order_number": "erp_order_number",
    "erp_customer": "erp_customer_id",
    "invoice": "invoice_status",
    "payment": "payment_status",
    "entitlement": "entitlement_status",
}
# synchronised customer attributes (models.customer_sync.FIELDS) -> company properties
COMPANY_ATTRIBUTES = {
    "legal_name": "name",
    "tax_registration": "vat_number",
    "contacts": "contact_email",
    "region": "q2c_region",
}
LIFECYCLE_PROPERTY = "lifecyclestage"


# HubSpot's `dealtype`: its own options (newbusiness, existingbusiness) and the ones q2c asks a portal to add,
# because "existing business" alone does not say whether seats go up or down.
_DEAL_KIND = {
    None: DealKind.NEW_BUSINESS,
    "": DealKind.NEW_BUSINESS,
    "newbusiness": DealKind.NEW_BUSINESS,
    "expansion": DealKind.EXPANSION,
    "contraction": DealKind.CONTRACTION,
    "renewal": DealKind.RENEWAL,
    "cancellation": DealKind.CANCELLATION,
}


def deal_kind_from_hubspot(dealtype: str | None) -> DealKind:
    """The deal's kind; a value q2c cannot read as one (existingbusiness included) is refused, not guessed."""
    kind = _DEAL_KIND.get(dealtype)
    if kind is None:
        allowed = ", ".join(str(k) for k in _DEAL_KIND if k)
        raise ValueError(f"dealtype {dealtype!r} does not say what the deal does to the contract (use {allowed})")
    return kind
