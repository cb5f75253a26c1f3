"""The HubSpot properties q2c needs, and the check that they still exist with a type q2c can read.

A vendor adding properties changes nothing; a property q2c reads or writes that is archived, renamed or
retyped raises `SchemaDrift` naming the object and the property, so the saga parks for a person instead
of retrying a write that cannot succeed. Definitions come from HubSpot's Properties API
(https://developers.hubspot.com/docs/api/crm/properties).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.errors import SchemaDrift
from connectors.hubspot.mapping import (
    COMPANY_PROPERTIES,
    DEAL_PROPERTIES,
    LIFECYCLE_PROPERTY,
    LINE_PROPERTIES,
    MILESTONE_PROPERTIES,
)

SYSTEM = "hubspot"
TEXT = frozenset({"string", "enumeration"})
NUMBER = frozenset({"number"})
DATE = frozenset({"date", "datetime"})
# Properties q2c writes back to a deal: they must exist before the saga writes anything.
DEAL_WRITES = list(MILESTONE_PROPERTIES.values())
_TYPES: dict[str, frozenset[str]] = {
    "amount": NUMBER,
    "closedate": DATE,
    "quantity": NUMBER,
    "price": NUMBER,
    "hs_recurring_billing_start_date": DATE,
}
NEEDED: dict[str, dict[str, frozenset[str]]] = {
    "deals": {name: _TYPES.get(name, TEXT) for name in [*DEAL_PROPERTIES, *DEAL_WRITES]},
    "line_items": {name: _TYPES.get(name, TEXT) for name in LINE_PROPERTIES if name != "hs_product_id"},
    "companies": {name: TEXT for name in [*COMPANY_PROPERTIES, LIFECYCLE_PROPERTY]},
}
# Refusals of a write that mean the property is not what q2c expects (not bad data of q2c's own making).
DRIFT_CODES = {"PROPERTY_DOESNT_EXIST", "INVALID_FLOAT", "INVALID_DATE", "INVALID_INTEGER", "READ_ONLY_VALUE"}
_OBJECT = re.compile(r"/crm/v3/objects/([a-z_0-9-]+)")


def check_definitions(object_type: str, definitions: dict[str, dict[str, Any]]) -> None:
    """Raise SchemaDrift for the first property q2c needs that is missing or of another type."""
    for name, kinds in NEEDED.get(object_type, {}).items():
        definition = definitions.get(name)
        if definition is None or definition.get("archived"):
            raise SchemaDrift(SYSTEM, object_type, name, "the property does not exist (archived or renamed)")
        if definition.get("type") not in kinds:
            raise SchemaDrift(
                SYSTEM,
                object_type,
                name,
                f"the property is of type {definition.get('type')}, q2c reads {sorted(kinds)}",
            )


def check_values(object_type: str, record: dict[str, Any]) -> None:
    """A number property whose value is not a number was retyped behind the definition's back."""
    for name, kinds in NEEDED.get(object_type, {}).items():
        value = record.get("properties", {}).get(name)
        if kinds is NUMBER and value not in (None, ""):
            try:
                Decimal(str(value))
            except InvalidOperation:
                raise SchemaDrift(
                    SYSTEM, object_type, name, f"value {value!r} of record {record.get('id')} is not a number"
                ) from None


def drift_from_refusal(path: str, body: dict[str, Any], status: int) -> SchemaDrift | None:
    """A 400 that names a property HubSpot does not know (or types differently) as SchemaDrift, else None.

    HubSpot puts a JSON list of the invalid properties in the message ("Property values were not valid: [...]");
    `errors[].code` carries the same code in some responses.
    """
    found = _OBJECT.search(path)
    object_type = found.group(1) if found else "object"
    message = str(body.get("message") or "")
    details: list[dict[str, Any]] = []
    if "[" in message:
        try:
            parsed = json.loads(message[message.index("[") :])
            details = [d for d in parsed if isinstance(d, dict)] if isinstance(parsed, list) else []
        except ValueError:
            details = []
    for detail in details:
        if detail.get("error") in DRIFT_CODES:
            problem = f"{detail.get('error')}: {detail.get('message')}"
            return SchemaDrift(SYSTEM, object_type, str(detail.get("name")), problem, status=status)
    for error in body.get("errors") or []:
        if isinstance(error, dict) and error.get("code") in DRIFT_CODES:
            names = (error.get("context") or {}).get("propertyName") or ["?"]
            return SchemaDrift(
                SYSTEM, object_type, str(names[0]), f"{error['code']}: {error.get('message')}", status=status
            )
    return None
