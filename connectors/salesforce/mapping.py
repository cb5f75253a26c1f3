"""Salesforce records to and from canonical models: every Salesforce field name q2c uses, in one place."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from connectors.errors import SchemaDrift
from models.catalog import BillingFrequency
from models.common import Region
from models.deal import CLOSED_WON, Deal, DealKind, DealLine
from models.money import Money
from models.party import Address, Contact, Customer, TaxRegistration

SYSTEM = "salesforce"
WON_STAGE = "Closed Won"
ACCOUNT_FIELDS = (
    "Id",
    "Name",
    "BillingStreet",
    "BillingCity",
    "BillingPostalCode",
    "BillingState",
    "BillingCountry",
    "CurrencyIsoCode",
    "Region__c",
    "VAT_Number__c",
    "Legal_Entity__c",
)
OPPORTUNITY_FIELDS = ("Id", "Name", "StageName", "IsWon", "CloseDate", "Amount", "CurrencyIsoCode", "Type", "AccountId")
LINE_FIELDS = ("Id", "Quantity", "UnitPrice", "ProductCode", "Name", "ServiceDate", "Billing_Frequency__c")
CONTACT_ROLE_FIELDS = ("IsPrimary", "Role", "Contact.Id", "Contact.FirstName", "Contact.LastName", "Contact.Email")
# canonical milestone (models.crm.DealMilestones) -> Opportunity custom field an admin creates for q2c
MILESTONE_FIELDS = {
    "status": "Q2C_Status__c",
    "status_reason": "Q2C_Status_Reason__c",
    "saga_id": "Q2C_Saga_Id__c",
    "order_number": "ERP_Order_Number__c",
    "erp_customer": "ERP_Customer_Id__c",
    "invoice": "Invoice_Status__c",
    "payment": "Payment_Status__c",
    "entitlement": "Entitlement_Status__c",
}
# the milestone keys QuoteToCash records in `UpdateDeal.properties` (its inputs from before the ports, still
# sent by the workflow and kept in histories) -> canonical milestone: q2c's own names, whatever the CRM
RECORDED_MILESTONES = {
    "q2c_status": "status",
    "q2c_status_reason": "status_reason",
    "q2c_saga_id": "saga_id",
    "erp_order_number": "order_number",
    "erp_customer_id": "erp_customer",
    "invoice_status": "invoice",
    "payment_status": "payment",
    "entitlement_status": "entitlement",
}
# synchronised customer attributes (models.customer_sync.FIELDS) -> Account fields
ACCOUNT_ATTRIBUTES = {"legal_name": "Name", "tax_registration": "VAT_Number__c", "region": "Region__c"}
FREQUENCY = {
    None: BillingFrequency.ONE_TIME,
    "One-Time": BillingFrequency.ONE_TIME,
    "Monthly": BillingFrequency.MONTHLY,
    "Annual": BillingFrequency.ANNUALLY,
}
_REGION_BY_CURRENCY = {"USD": Region.NA, "EUR": Region.EMEA, "GBP": Region.UK}


def opportunity_query(opportunity_id: str) -> str:
    """One SOQL round trip for the deal, its account, its lines and its contact roles."""
    account = ", ".join(f"Account.{f}" for f in ACCOUNT_FIELDS)
    return (
        f"SELECT {', '.join(OPPORTUNITY_FIELDS)}, {account}, "
        f"(SELECT {', '.join(LINE_FIELDS)} FROM OpportunityLineItems ORDER BY Id), "
        f"(SELECT {', '.join(CONTACT_ROLE_FIELDS)} FROM OpportunityContactRoles ORDER BY IsPrimary DESC) "
        f"FROM Opportunity WHERE Id = '{soql_literal(opportunity_id)}'"
    )


def opportunities_query(opportunity_ids: list[str], extra_fields: tuple[str, ...] = ()) -> str:
    """Many deals in one SOQL round trip (a reconciliation page), as `opportunity_query` reads one, with
    `extra_fields` of the Opportunity (q2c's milestones) beside them."""
    account = ", ".join(f"Account.{f}" for f in ACCOUNT_FIELDS)
    fields = ", ".join(dict.fromkeys([*OPPORTUNITY_FIELDS, *extra_fields]))
    ids = ", ".join(f"'{soql_literal(i)}'" for i in opportunity_ids)
    return (
        f"SELECT {fields}, {account}, "
        f"(SELECT {', '.join(LINE_FIELDS)} FROM OpportunityLineItems ORDER BY Id), "
        f"(SELECT {', '.join(CONTACT_ROLE_FIELDS)} FROM OpportunityContactRoles ORDER BY IsPrimary DESC) "
        f"FROM Opportunity WHERE Id IN ({ids}) ORDER BY Id"
    )


def soql_literal(value: str) -> str:
    """A value safe inside SOQL quotes (backslash and quote escaped, as Salesforce documents)."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def number(record: dict[str, Any], obj: str, field: str) -> Decimal:
    value = record.get(field)
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise SchemaDrift(SYSTEM, obj, field, f"expected a number, got {type(value).__name__}")
    return Decimal(value)


def children(record: dict[str, Any], relationship: str) -> list[dict[str, Any]]:
    """A child subquery's records; Salesforce sends null, not an empty list, when there are none."""
    found = record.get(relationship)
    return list(found.get("records") or []) if isinstance(found, dict) else []


def line_from_salesforce(record: dict[str, Any], currency: str) -> DealLine:
    frequency = record.get("Billing_Frequency__c")
    if frequency not in FREQUENCY:
        raise ValueError(f"OpportunityLineItem {record['Id']}.Billing_Frequency__c {frequency!r} is not supported")
    start = record.get("ServiceDate")
    return DealLine(
        id=record["Id"],
        sku=record.get("ProductCode") or "",
        name=record.get("Name") or "",
        quantity=number(record, "OpportunityLineItem", "Quantity"),
        unit_price=Money(amount=number(record, "OpportunityLineItem", "UnitPrice"), currency=currency),
        frequency=FREQUENCY[frequency],
        start_date=date.fromisoformat(start) if start else None,
    )


def account_from_salesforce(account: dict[str, Any], roles: list[dict[str, Any]]) -> Customer:
    currency = str(account.get("CurrencyIsoCode") or "USD").upper()
    address = None
    if account.get("BillingStreet") and account.get("BillingCity") and account.get("BillingCountry"):
        address = Address(
            line1=account["BillingStreet"],
            city=account["BillingCity"],
            postal_code=account.get("BillingPostalCode"),
            region=account.get("BillingState"),
            country=account["BillingCountry"],
        )
    vat = account.get("VAT_Number__c")
    tax = TaxRegistration(country=account.get("BillingCountry") or "US", number=vat) if vat else None
    contacts = [
        Contact(
            id=person.get("Id"),
            first_name=person.get("FirstName") or "",
            last_name=person.get("LastName") or "",
            email=person["Email"],
            role=role.get("Role"),
        )
        for role in roles
        if (person := role.get("Contact")) and person.get("Email")
    ]
    return Customer(
        id=account["Id"],
        legal_name=account.get("Name") or "",
        billing_address=address,
        tax_registration=tax,
        legal_entity=account.get("Legal_Entity__c") or "1",
        currency=currency,
        region=account.get("Region__c") or _REGION_BY_CURRENCY.get(currency, Region.NA),
        contacts=contacts,
        external_ids={"crm": account["Id"]},
    )


def deal_from_salesforce(record: dict[str, Any]) -> Deal:
    """An Opportunity as q2c's deal: Closed Won (IsWon) is the canonical closed-won stage."""
    account = record.get("Account")
    company = account_from_salesforce(account, children(record, "OpportunityContactRoles")) if account else None
    currency = str(record.get("CurrencyIsoCode") or (company.currency if company else "USD")).upper()
    won = record.get("IsWon") is True or record.get("StageName") == WON_STAGE
    return Deal(
        id=record["Id"],
        name=record.get("Name") or "",
        stage=CLOSED_WON if won else str(record.get("StageName") or ""),
        currency=currency,
        close_date=record.get("CloseDate"),
        company=company,
        lines=[line_from_salesforce(line, currency) for line in children(record, "OpportunityLineItems")],
        properties={"deal_type": record.get("Type")},
        kind=deal_kind_from_salesforce(record.get("Type")),
    )


# Opportunity.Type: Salesforce's standard picklist values, and Cancellation, which q2c asks an org to add.
_DEAL_KIND = {
    None: DealKind.NEW_BUSINESS,
    "": DealKind.NEW_BUSINESS,
    "New Business": DealKind.NEW_BUSINESS,
    "Existing Customer - Upgrade": DealKind.EXPANSION,
    "Existing Customer - Downgrade": DealKind.CONTRACTION,
    "Renewal": DealKind.RENEWAL,
    "Cancellation": DealKind.CANCELLATION,
}


def deal_kind_from_salesforce(value: object) -> DealKind:
    """The deal's kind from Type; one q2c cannot read as a change (Replacement, say) is refused, not guessed."""
    kind = _DEAL_KIND.get(value if isinstance(value, str) or value is None else str(value))
    if kind is None:
        allowed = ", ".join(repr(k) for k in _DEAL_KIND if k)
        raise ValueError(f"Type {value!r} does not say what the deal does to the contract (use {allowed})")
    return kind
