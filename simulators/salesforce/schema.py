"""The sObjects q2c meets, described as Salesforce describes them: fields with types, key prefixes,
parent lookups and child relationships, the custom fields an admin creates for q2c (`__c`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # id, string, textarea, picklist, currency, double, date, datetime, boolean, reference, email
    required: bool = False
    writable: bool = True
    external_id: bool = False
    unique: bool = False
    reference_to: str | None = None
    relationship: str | None = None  # the parent's name in SOQL, e.g. Account for AccountId
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class SObject:
    name: str
    prefix: str
    fields: tuple[Field, ...]
    children: dict[str, tuple[str, str]] = field(default_factory=dict)  # relationship -> (child, lookup)

    def field(self, name: str) -> Field | None:
        lowered = name.lower()
        return next((f for f in self.fields if f.name.lower() == lowered), None)

    def parent(self, relationship: str) -> Field | None:
        lowered = relationship.lower()
        return next((f for f in self.fields if f.relationship and f.relationship.lower() == lowered), None)


_SYSTEM = (
    Field("Id", "id", writable=False),
    Field("IsDeleted", "boolean", writable=False),
    Field("CreatedDate", "datetime", writable=False),
    Field("LastModifiedDate", "datetime", writable=False),
    Field("SystemModstamp", "datetime", writable=False),
)
CURRENCIES = ("USD", "EUR", "GBP")
STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
OPPORTUNITY_TYPES = (
    "New Business",
    "Existing Customer - Upgrade",
    "Existing Customer - Downgrade",
    "Existing Customer - Replacement",
    "Renewal",
)
FREQUENCIES = ("One-Time", "Monthly", "Annual")


def _currency() -> Field:
    return Field("CurrencyIsoCode", "picklist", values=CURRENCIES)


SOBJECTS = {
    s.name: s
    for s in (
        SObject(
            "Account",
            "001",
            (
                *_SYSTEM,
                Field("Name", "string", required=True),
                Field("AccountNumber", "string"),
                Field("Type", "picklist"),
                Field("Industry", "picklist"),
                Field("Website", "string"),
                Field("Phone", "string"),
                Field("BillingStreet", "textarea"),
                Field("BillingCity", "string"),
                Field("BillingPostalCode", "string"),
                Field("BillingState", "string"),
                Field("BillingCountry", "string"),
                _currency(),
                Field("External_Id__c", "string", external_id=True, unique=True),
                Field("VAT_Number__c", "string"),
                Field("Region__c", "picklist", values=("na", "emea", "uk")),
                Field("Legal_Entity__c", "string"),
                Field("ERP_Customer_Id__c", "string", external_id=True),
            ),
            {"Opportunities": ("Opportunity", "AccountId"), "Contacts": ("Contact", "AccountId")},
        ),
        SObject(
            "Contact",
            "003",
            (
                *_SYSTEM,
                Field("AccountId", "reference", reference_to="Account", relationship="Account"),
                Field("FirstName", "string"),
                Field("LastName", "string", required=True),
                Field("Email", "email"),
                Field("Phone", "string"),
            ),
        ),
        SObject(
            "Opportunity",
            "006",
            (
                *_SYSTEM,
                Field("Name", "string", required=True),
                Field("AccountId", "reference", reference_to="Account", relationship="Account"),
                Field("StageName", "picklist", required=True, values=STAGES),
                Field("CloseDate", "date", required=True),
                Field("Amount", "currency"),
                _currency(),
                Field("Type", "picklist", values=OPPORTUNITY_TYPES),
                Field("IsWon", "boolean", writable=False),
                Field("IsClosed", "boolean", writable=False),
                Field("Probability", "double"),
                Field("Pricebook2Id", "reference", reference_to="Pricebook2", relationship="Pricebook2"),
                Field("ERP_Order_Number__c", "string"),
                Field("ERP_Customer_Id__c", "string"),
                Field("Q2C_Saga_Id__c", "string"),
                Field("Q2C_Status__c", "string"),
                Field("Q2C_Status_Reason__c", "textarea"),
                Field("Invoice_Status__c", "string"),
                Field("Payment_Status__c", "string"),
                Field("Entitlement_Status__c", "string"),
                Field("Q2C_Deal_Key__c", "string", external_id=True, unique=True),
            ),
            {
                "OpportunityLineItems": ("OpportunityLineItem", "OpportunityId"),
                "OpportunityContactRoles": ("OpportunityContactRole", "OpportunityId"),
            },
        ),
        SObject(
            "OpportunityLineItem",
            "00k",
            (
                *_SYSTEM,
                Field("OpportunityId", "reference", True, reference_to="Opportunity", relationship="Opportunity"),
                Field("PricebookEntryId", "reference", reference_to="PricebookEntry", relationship="PricebookEntry"),
                Field("Product2Id", "reference", reference_to="Product2", relationship="Product2"),
                Field("ProductCode", "string", writable=False),
                Field("Name", "string", writable=False),
                Field("Quantity", "double", required=True),
                Field("UnitPrice", "currency"),
                Field("ListPrice", "currency", writable=False),
                Field("TotalPrice", "currency"),
                Field("ServiceDate", "date"),
                Field("Description", "string"),
                Field("Billing_Frequency__c", "picklist", values=FREQUENCIES),
                _currency(),
            ),
        ),
        SObject(
            "Product2",
            "01t",
            (
                *_SYSTEM,
                Field("Name", "string", required=True),
                Field("ProductCode", "string"),
                Field("IsActive", "boolean"),
                Field("Family", "picklist"),
                Field("Description", "textarea"),
                Field("Billing_Frequency__c", "picklist", values=FREQUENCIES),
            ),
        ),
        SObject(
            "Pricebook2",
            "01s",
            (
                *_SYSTEM,
                Field("Name", "string", required=True),
                Field("IsActive", "boolean"),
                Field("IsStandard", "boolean", writable=False),
            ),
        ),
        SObject(
            "PricebookEntry",
            "01u",
            (
                *_SYSTEM,
                Field("Pricebook2Id", "reference", True, reference_to="Pricebook2", relationship="Pricebook2"),
                Field("Product2Id", "reference", True, reference_to="Product2", relationship="Product2"),
                Field("UnitPrice", "currency", required=True),
                Field("IsActive", "boolean"),
                Field("UseStandardPrice", "boolean"),
                Field("ProductCode", "string", writable=False),
                Field("Name", "string", writable=False),
                _currency(),
            ),
        ),
        SObject(
            "OpportunityContactRole",
            "00K",
            (
                *_SYSTEM,
                Field("OpportunityId", "reference", True, reference_to="Opportunity", relationship="Opportunity"),
                Field("ContactId", "reference", True, reference_to="Contact", relationship="Contact"),
                Field("Role", "picklist"),
                Field("IsPrimary", "boolean"),
            ),
        ),
    )
}
BY_PREFIX = {s.prefix: s for s in SOBJECTS.values()}


def sobject(name: str) -> SObject | None:
    lowered = name.lower()
    return next((s for s in SOBJECTS.values() if s.name.lower() == lowered), None)


def describe(s: SObject, version: str) -> dict[str, object]:
    """The parts of `GET /sobjects/{Type}/describe` an integration reads to check a field exists."""
    return {
        "name": s.name,
        "label": s.name,
        "keyPrefix": s.prefix,
        "createable": True,
        "updateable": True,
        "queryable": True,
        "custom": False,
        "urls": {"sobject": f"/services/data/v{version}/sobjects/{s.name}"},
        "fields": [
            {
                "name": f.name,
                "type": f.type,
                "label": f.name.removesuffix("__c").replace("_", " "),
                "custom": f.name.endswith("__c"),
                "nillable": not f.required and f.type != "boolean",
                "createable": f.writable,
                "updateable": f.writable and f.type != "id",
                "externalId": f.external_id,
                "idLookup": f.external_id or f.name == "Id",
                "referenceTo": [f.reference_to] if f.reference_to else [],
                "relationshipName": f.relationship,
                "picklistValues": [{"value": v, "label": v, "active": True} for v in f.values],
            }
            for f in s.fields
        ],
        "childRelationships": [
            {"relationshipName": rel, "childSObject": child, "field": lookup}
            for rel, (child, lookup) in s.children.items()
        ],
    }
