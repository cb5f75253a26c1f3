"""Property definitions per object type, HubSpot's Properties API, and typed property values.

Property types and value formats: https://developers.hubspot.com/docs/api/crm/properties
(number values are strings; datetime values are ISO 8601 or a millisecond timestamp, date values are
midnight UTC). The definitions live in the store, so a drill can archive or retype one through the same
API a HubSpot admin would use (`DELETE`/`PATCH /crm/v3/properties/{objectType}/{propertyName}`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from simulators.store import Record, Store

from .errors import HubSpotError, property_error

SYSTEM = "hubspot"
OBJECT_TYPES = ("deals", "line_items", "companies", "contacts")
# HubSpot-defined object type ids, as v4 associations name them.
OBJECT_TYPE_IDS = {"contacts": "0-1", "companies": "0-2", "deals": "0-3", "line_items": "0-8"}
FIELD_TYPE = {"string": "text", "number": "number", "date": "date", "datetime": "date", "enumeration": "select"}
FIELD_TYPE["bool"] = "booleancheckbox"
READ_ONLY = {"hs_object_id", "hs_lastmodifieddate", "hs_date_entered_closedwon", "hs_is_closed_won"}
_COMMON = {"hs_object_id": "number", "createdate": "datetime", "hs_lastmodifieddate": "datetime"}
_DEFAULTS: dict[str, dict[str, str]] = {
    "deals": {
        **_COMMON,
        "dealname": "string",
        "amount": "number",
        "dealstage": "enumeration",
        "dealtype": "enumeration",  # newbusiness, existingbusiness, and the options a portal adds
        "closedate": "datetime",
        "pipeline": "enumeration",
        "deal_currency_code": "enumeration",
        "hubspot_owner_id": "enumeration",
        "hs_date_entered_closedwon": "datetime",
        "hs_is_closed_won": "bool",
        "erp_order_number": "string",
        "erp_customer_id": "string",
        "q2c_status": "string",
        "q2c_status_reason": "string",
        "q2c_saga_id": "string",
        "invoice_status": "string",
        "entitlement_status": "string",
        "payment_status": "string",
        "q2c_deal_key": "string",
    },
    "line_items": {
        **_COMMON,
        "name": "string",
        "quantity": "number",
        "price": "number",
        "hs_sku": "string",
        "hs_product_id": "string",
        "recurringbillingfrequency": "enumeration",
        "hs_recurring_billing_start_date": "date",
        "amount": "number",
        "currency": "string",
    },
    "companies": {
        **_COMMON,
        **dict.fromkeys(
            ("name", "domain", "address", "address2", "city", "zip", "state", "country", "q2c_region"), "string"
        ),
        **dict.fromkeys(("vat_number", "legal_entity", "currency", "erp_customer_id", "q2c_company_key"), "string"),
        **dict.fromkeys(("contact_email", "contact_firstname", "contact_lastname"), "string"),
        "lifecyclestage": "enumeration",
    },
    "contacts": {
        **_COMMON,
        **dict.fromkeys(("email", "firstname", "lastname", "phone", "jobtitle", "company_id"), "string"),
    },
}
UNIQUE = {"q2c_company_key", "q2c_deal_key", "email", "hs_object_id"}
HUBSPOT_DEFINED_PREFIXES = ("hs_", "hubspot_")
HUBSPOT_DEFINED = {"dealname", "amount", "dealstage", "closedate", "pipeline", "createdate", "name", "quantity"}
HUBSPOT_DEFINED |= {"price", "domain", "email", "firstname", "lastname", "recurringbillingfrequency", "lifecyclestage"}
HUBSPOT_DEFINED |= {"dealtype"}
HUBSPOT_DEFINED |= {"deal_currency_code", "address", "address2", "city", "zip", "state", "country", "phone", "jobtitle"}


def _definition(object_type: str, name: str, kind: str) -> Record:
    hubspot = name.startswith(HUBSPOT_DEFINED_PREFIXES) or name in HUBSPOT_DEFINED
    return {
        "name": name,
        "label": name.replace("_", " ").capitalize(),
        "type": kind,
        "fieldType": FIELD_TYPE.get(kind, "text"),
        "description": "",
        "groupName": f"{object_type.rstrip('s')}information",
        "options": [],
        "displayOrder": -1,
        "calculated": name in READ_ONLY,
        "externalOptions": False,
        "hasUniqueValue": name in UNIQUE,
        "hidden": False,
        "hubspotDefined": hubspot,
        "modificationMetadata": {
            "archivable": not hubspot,
            "readOnlyDefinition": hubspot,
            "readOnlyValue": name in READ_ONLY,
        },
        "formField": not hubspot,
        "archived": False,
    }


class Schema:
    """The account's property definitions: HubSpot's defaults, overlaid by what the Properties API changed."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def definitions(self, object_type: str) -> dict[str, Record]:
        found = {name: _definition(object_type, name, kind) for name, kind in _DEFAULTS[object_type].items()}
        for changed in self.store.all(SYSTEM, f"property:{object_type}"):
            found[changed["name"]] = changed
        return {name: d for name, d in found.items() if not d.get("archived")}

    def kind(self, object_type: str, name: str) -> str | None:
        definition = self.definitions(object_type).get(name)
        return None if definition is None else str(definition["type"])

    def redefine(self, object_type: str, name: str, **changes: Any) -> None:
        """A drill's shortcut past the API's guard: retype or archive even a HubSpot-defined property."""
        current = self.definitions(object_type).get(name) or _definition(object_type, name, "string")
        self.store.put(SYSTEM, f"property:{object_type}", name, {**current, **changes})

    def restore(self, object_type: str, name: str) -> None:
        self.store.delete(SYSTEM, f"property:{object_type}", name)

    def check_type(self, object_type: str) -> None:
        if object_type not in OBJECT_TYPES:
            raise HubSpotError(400, "INVALID_OBJECT_TYPE", f"Unable to infer object type from: {object_type}")

    def clean(self, object_type: str, properties: dict[str, Any]) -> dict[str, str | None]:
        """Values as HubSpot stores them; an unknown property or a value of the wrong type refuses the write."""
        definitions = self.definitions(object_type)
        cleaned: dict[str, str | None] = {}
        for name, value in properties.items():
            definition = definitions.get(name)
            if definition is None:
                raise property_error(name, f'Property "{name}" does not exist', "PROPERTY_DOESNT_EXIST")
            if name in READ_ONLY:
                raise property_error(
                    name, f'"{name}" is a read only property; its value cannot be set.', "READ_ONLY_VALUE"
                )
            cleaned[name] = normalise(name, str(definition["type"]), value)
        return cleaned


def normalise(name: str, kind: str, value: Any) -> str | None:
    if value is None or value == "":
        return None if value is None else ""
    text = str(value)
    if kind == "number":
        try:
            Decimal(text)
        except InvalidOperation:
            raise property_error(name, f"{text} was not a valid number.", "INVALID_FLOAT") from None
        return text
    if kind in ("date", "datetime"):
        moment = parse_moment(text)
        if moment is None:
            raise property_error(name, f"{text} is not a valid {kind}.", "INVALID_DATE")
        if kind == "date":
            return moment.date().isoformat()
        return iso(moment)
    if kind == "bool":
        if text.lower() not in ("true", "false"):
            raise property_error(name, f"{text} was not a valid boolean.", "INVALID_BOOLEAN")
        return text.lower()
    return text


def parse_moment(text: str) -> datetime | None:
    """A millisecond timestamp, an ISO 8601 date-time or a date (midnight UTC)."""
    try:
        if text.lstrip("-").isdigit():
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def properties_router(schema: Schema) -> APIRouter:
    """`/crm/v3/properties`: read, create, change and archive definitions."""
    router = APIRouter()

    def load(object_type: str, name: str) -> Record:
        schema.check_type(object_type)
        definition = schema.definitions(object_type).get(name)
        if definition is None:
            raise HubSpotError(404, "OBJECT_NOT_FOUND", f"Unable to find property {name} for {object_type}")
        return definition

    def save(object_type: str, definition: Record) -> Record:
        schema.store.put(SYSTEM, f"property:{object_type}", definition["name"], definition)
        return definition

    @router.get("/crm/v3/properties/{object_type}")
    async def list_properties(object_type: str) -> Record:
        schema.check_type(object_type)
        return {"results": list(schema.definitions(object_type).values())}

    @router.get("/crm/v3/properties/{object_type}/{name}")
    async def read_property(object_type: str, name: str) -> Record:
        return load(object_type, name)

    @router.post("/crm/v3/properties/{object_type}", status_code=201)
    async def create_property(object_type: str, body: dict[str, Any]) -> Record:
        schema.check_type(object_type)
        name, kind = str(body.get("name") or ""), str(body.get("type") or "")
        if not name or kind not in FIELD_TYPE:
            raise HubSpotError(400, "VALIDATION_ERROR", "a property needs a name and a type (one of FIELD_TYPE)")
        if name in schema.definitions(object_type):
            raise HubSpotError(409, "PROPERTY_EXISTS", f"A property named '{name}' already exists.")
        definition = {**_definition(object_type, name, kind), **body, "hubspotDefined": False}
        return save(object_type, definition)

    def changeable(object_type: str, name: str) -> Record:
        definition = load(object_type, name)
        if definition["modificationMetadata"]["readOnlyDefinition"]:
            raise HubSpotError(400, "READ_ONLY_DEFINITION", f"{name} is a HubSpot-defined property; it cannot change")
        return definition

    @router.patch("/crm/v3/properties/{object_type}/{name}")
    async def update_property(object_type: str, name: str, body: dict[str, Any]) -> Record:
        definition = {**changeable(object_type, name), **{k: v for k, v in body.items() if k != "name"}}
        if definition["type"] not in FIELD_TYPE:
            raise HubSpotError(400, "VALIDATION_ERROR", f"{definition['type']} is not a property type")
        return save(object_type, definition)

    @router.delete("/crm/v3/properties/{object_type}/{name}", status_code=204)
    async def archive_property(object_type: str, name: str) -> Response:
        save(object_type, {**changeable(object_type, name), "archived": True})
        return Response(status_code=204)

    return router
