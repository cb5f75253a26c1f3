"""The organization fields q2c needs in Zendesk, and the checks that name one when an admin renames or retypes it.

Zendesk ignores a custom field key it does not know on write and shows every active field (null when unset)
on read, so a renamed or deleted field shows up as a key missing from `organization_fields`; a retyped one as a
value of another shape. Fields Zendesk adds change nothing: only the keys below are checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from connectors.errors import SchemaDrift
from models.support import EntitlementStatus

SYSTEM = "zendesk"
OBJECT = "organization"
# key -> the Zendesk field types that carry what q2c stores there
FIELD_TYPES: dict[str, tuple[str, ...]] = {
    "service_tier": ("text", "textarea", "dropdown"),
    "contract_start": ("date",),
    "contract_end": ("date",),
    "entitlement_status": ("text", "dropdown"),
    "invoice_status": ("text", "dropdown"),
    "erp_customer_id": ("text", "regexp"),
}
READ_FIELDS = tuple(FIELD_TYPES)
# keys whose values q2c reads as one of a fixed set (a dropdown's options an admin may change)
VALUES: dict[str, frozenset[str]] = {"entitlement_status": frozenset(s.value for s in EntitlementStatus)}


def _fits(kinds: tuple[str, ...], value: Any) -> bool:
    if value is None:
        return True
    if kinds == ("date",):
        try:
            date.fromisoformat(str(value))
        except ValueError:
            return False
        return isinstance(value, str)
    return isinstance(value, str)


def check_organization(record: Any, keys: Iterable[str] = READ_FIELDS) -> dict[str, Any]:
    """The organization record, once each custom field in `keys` is present with a value of its type."""
    if not isinstance(record, dict) or "id" not in record:
        raise SchemaDrift(SYSTEM, OBJECT, "id", "the answer holds no organization")
    fields = record.get("organization_fields")
    if not isinstance(fields, dict):
        raise SchemaDrift(SYSTEM, OBJECT, "organization_fields", f"expected an object, got {type(fields).__name__}")
    for key in keys:
        if key not in fields:
            raise SchemaDrift(SYSTEM, OBJECT, f"organization_fields.{key}", "missing: renamed or deleted in Zendesk")
        kinds = FIELD_TYPES.get(key, ("text", "textarea", "dropdown", "regexp"))
        if not _fits(kinds, fields[key]):
            raise SchemaDrift(
                SYSTEM, OBJECT, f"organization_fields.{key}", f"expected a {kinds[0]} value, got {fields[key]!r}"
            )
        if key in VALUES and fields[key] is not None and fields[key] not in VALUES[key]:
            known = ", ".join(sorted(VALUES[key]))
            raise SchemaDrift(SYSTEM, OBJECT, f"organization_fields.{key}", f"{fields[key]!r} is none of {known}")
    return record


def check_definitions(definitions: list[dict[str, Any]], keys: Iterable[str] = READ_FIELDS) -> None:
    """The account's organization field definitions hold each key q2c needs, active and of a fitting type."""
    by_key = {d.get("key"): d for d in definitions}
    for key in keys:
        found = by_key.get(key)
        if found is None:
            raise SchemaDrift(SYSTEM, OBJECT, f"organization_fields.{key}", "no organization field has this key")
        if not found.get("active", True):
            raise SchemaDrift(SYSTEM, OBJECT, f"organization_fields.{key}", "the field is inactive")
        kinds = FIELD_TYPES.get(key, ("text", "textarea", "dropdown", "regexp"))
        if found.get("type") not in kinds:
            raise SchemaDrift(
                SYSTEM, OBJECT, f"organization_fields.{key}", f"is a {found.get('type')} field, q2c needs {kinds[0]}"
            )
