"""sObject records as Salesforce keeps them: field checks, system fields, derived fields, external ids."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from simulators.salesforce.ids import is_valid, make_id, to18
from simulators.salesforce.schema import BY_PREFIX, SObject, sobject
from simulators.store import Record, Store

SYSTEM = "salesforce"


class SalesforceError(Exception):
    """An error as the REST API sends it: `[{"message", "errorCode", "fields"}]` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or []

    def body(self) -> list[dict[str, Any]]:
        item: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields:
            item["fields"] = self.fields
        return [item]


def stamp(moment: datetime | None = None) -> str:
    """Salesforce's date-time format: `2026-11-28T20:00:00.000+0000`."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


class Records:
    """Create, read, update, upsert and delete over the store; `on_change` sees every write (triggers)."""

    def __init__(self, store: Store, on_change: Callable[[str, Record | None, Record], None] | None = None) -> None:
        self.store, self.on_change = store, on_change
        self.journal: list[tuple[str, str, Record | None]] | None = None  # set while a transaction may roll back

    def save(self, name: str, record: Record) -> None:
        if self.journal is not None:
            self.journal.append((name, record["Id"], self.store.get(SYSTEM, name, record["Id"])))
        self.store.put(SYSTEM, name, record["Id"], record)

    def rollback(self, journal: list[tuple[str, str, Record | None]]) -> None:
        for name, record_id, before in reversed(journal):
            if before is None:
                self.store.delete(SYSTEM, name, record_id)
            else:
                self.store.put(SYSTEM, name, record_id, before)

    def type_of(self, name: str) -> SObject:
        found = sobject(name)
        if found is None:
            raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
        return found

    def type_name_of(self, record_id: str) -> str:
        """The sObject an id belongs to, from its key prefix."""
        found = BY_PREFIX.get(str(record_id)[:3])
        if found is None or not is_valid(str(record_id)):
            raise SalesforceError(400, "MALFORMED_ID", f"malformed id {record_id}")
        return found.name

    def get(self, name: str, record_id: str) -> Record:
        target = self.type_of(name)
        if not is_valid(record_id):
            raise SalesforceError(
                404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {record_id}"
            )
        record = self.store.get(SYSTEM, target.name, to18(record_id[:15]))
        if record is None or not record["Id"].startswith(target.prefix):
            raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
        return record

    def create(self, name: str, body: Record) -> Record:
        target = self.type_of(name)
        values = self.checked(target, body, creating=True)
        number = self.store.next_id(f"salesforce:{target.name}", 1)
        now = stamp()
        record = {
            "Id": make_id(target.prefix, number),
            "IsDeleted": False,
            "CreatedDate": now,
            "LastModifiedDate": now,
            "SystemModstamp": now,
            **values,
        }
        self.derive(target, record)
        if target.name == "OpportunityLineItem":
            self.entry_fits(record)
        self.save(target.name, record)
        self.after_write(target, None, record)
        return record

    def entry_fits(self, line: Record) -> None:
        """A product line's price book entry: active, in the opportunity's currency and price book."""
        entry = self.store.get(SYSTEM, "PricebookEntry", line.get("PricebookEntryId") or "") or {}
        opportunity = self.store.get(SYSTEM, "Opportunity", line.get("OpportunityId") or "") or {}
        problem = None
        if entry and not entry.get("IsActive"):
            problem = "pricebook entry is inactive"
        elif entry and opportunity.get("CurrencyIsoCode") not in (None, entry.get("CurrencyIsoCode")):
            problem = "pricebook entry currency code does not match opportunity currency code"
        elif entry and opportunity.get("Pricebook2Id") not in (None, entry.get("Pricebook2Id")):
            problem = "pricebook entry is in a different pricebook than the one assigned to the opportunity"
        if problem:
            raise SalesforceError(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                f"field integrity exception: PricebookEntryId ({problem})",
                ["PricebookEntryId"],
            )

    def update(self, name: str, record_id: str, body: Record) -> Record:
        target = self.type_of(name)
        before = self.get(target.name, record_id)
        values = self.checked(target, body, creating=False)
        record = {**before, **values, "LastModifiedDate": stamp(), "SystemModstamp": stamp()}
        self.derive(target, record)
        self.save(target.name, record)
        self.after_write(target, before, record)
        return record

    def delete(self, name: str, record_id: str) -> None:
        target = self.type_of(name)
        record = self.get(target.name, record_id)
        if self.journal is not None:
            self.journal.append((target.name, record["Id"], record))
        self.store.delete(SYSTEM, target.name, record["Id"])

    def by_external_id(self, name: str, field_name: str, value: str) -> list[Record]:
        target = self.type_of(name)
        field = target.field(field_name)
        if field is None or not (field.external_id or field.name == "Id"):
            raise SalesforceError(
                404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {field_name}"
            )
        return [r for r in self.store.all(SYSTEM, target.name) if str(r.get(field.name)) == value]

    def checked(self, target: SObject, body: Record, *, creating: bool) -> Record:
        """The body's values, refused the way Salesforce refuses them: unknown, read-only, wrong type."""
        values: Record = {}
        for key, raw in body.items():
            if key == "attributes":
                continue
            field = target.field(key)
            if field is None:
                raise SalesforceError(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {target.name}")
            if not field.writable:
                raise SalesforceError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {field.name}. Please check the security settings of this "
                    "field and verify that it is read/write for your profile or permission set.",
                    [field.name],
                )
            values[field.name] = self.coerce(target, field.name, field.type, raw, field.values, field.reference_to)
        if creating:
            missing = [f.name for f in target.fields if f.required and values.get(f.name) in (None, "")]
            if target.name == "OpportunityLineItem" and not (
                values.get("PricebookEntryId") or values.get("Product2Id")
            ):
                missing.append("PricebookEntryId")
            if missing:
                raise SalesforceError(
                    400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
                )
        for field in target.fields:
            if field.unique and values.get(field.name):
                clash = [
                    r
                    for r in self.store.find(SYSTEM, target.name, field.name, values[field.name])
                    if r["Id"] != body.get("Id")
                ]
                if clash and creating:
                    raise SalesforceError(
                        400,
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {field.name} duplicates value on record with id: {clash[0]['Id']}",
                        [field.name],
                    )
        return values

    def coerce(
        self, target: SObject, name: str, kind: str, raw: Any, allowed: tuple[str, ...], reference_to: str | None
    ) -> Any:
        if raw is None:
            return None
        problem = f"{name}: value not of required type: {raw}"
        if kind in ("currency", "double"):
            if isinstance(raw, bool):
                raise SalesforceError(400, "INVALID_TYPE_ON_FIELD_IN_RECORD", problem, [name])
            try:
                return float(Decimal(str(raw)))
            except InvalidOperation:
                raise SalesforceError(400, "INVALID_TYPE_ON_FIELD_IN_RECORD", problem, [name]) from None
        if kind == "boolean":
            if not isinstance(raw, bool):
                raise SalesforceError(400, "INVALID_TYPE_ON_FIELD_IN_RECORD", problem, [name])
            return raw
        if kind == "date":
            try:
                return datetime.strptime(str(raw), "%Y-%m-%d").date().isoformat()
            except ValueError:
                raise SalesforceError(400, "INVALID_TYPE_ON_FIELD_IN_RECORD", problem, [name]) from None
        if kind == "reference":
            text = str(raw)
            parent = BY_PREFIX.get(text[:3])
            if not is_valid(text) or parent is None or (reference_to and parent.name != reference_to):
                raise SalesforceError(
                    400, "MALFORMED_ID", f"{reference_to or 'Record'} ID: id value of incorrect type: {text}", [name]
                )
            found = self.store.get(SYSTEM, parent.name, to18(text[:15]))
            if found is None:
                raise SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {text}", [name])
            return found["Id"]
        if allowed and name in ("StageName", "CurrencyIsoCode", "Billing_Frequency__c") and raw not in allowed:
            raise SalesforceError(
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{name}: bad value for restricted picklist field: {raw}",
                [name],
            )
        return str(raw)

    def derive(self, target: SObject, record: Record) -> None:
        """Fields Salesforce computes: IsWon/IsClosed from the stage, line totals and product codes."""
        if target.name == "Opportunity":
            stage = record.get("StageName")
            record["IsClosed"] = stage in ("Closed Won", "Closed Lost")
            record["IsWon"] = stage == "Closed Won"
        if target.name == "OpportunityLineItem":
            entry = self.store.get(SYSTEM, "PricebookEntry", record.get("PricebookEntryId") or "")
            if entry is None and record.get("Product2Id"):
                entry = next(iter(self.store.find(SYSTEM, "PricebookEntry", "Product2Id", record["Product2Id"])), None)
            if entry is not None:
                product = self.store.get(SYSTEM, "Product2", entry["Product2Id"]) or {}
                record.update(
                    PricebookEntryId=entry["Id"],
                    Product2Id=entry["Product2Id"],
                    ProductCode=product.get("ProductCode"),
                    Name=product.get("Name"),
                    ListPrice=entry["UnitPrice"],
                    CurrencyIsoCode=entry.get("CurrencyIsoCode"),
                )
                record.setdefault("Billing_Frequency__c", product.get("Billing_Frequency__c"))
                if record.get("UnitPrice") is None:
                    record["UnitPrice"] = entry["UnitPrice"]
            if record.get("UnitPrice") is not None and record.get("Quantity") is not None:
                total = Decimal(str(record["UnitPrice"])) * Decimal(str(record["Quantity"]))
                record["TotalPrice"] = float(total)
        if target.name == "PricebookEntry":
            product = self.store.get(SYSTEM, "Product2", record.get("Product2Id") or "") or {}
            record.update(ProductCode=product.get("ProductCode"), Name=product.get("Name"))

    def after_write(self, target: SObject, before: Record | None, record: Record) -> None:
        if target.name == "OpportunityLineItem":
            self.roll_up(record["OpportunityId"])
        if self.on_change is not None:
            self.on_change(target.name, before, record)

    def roll_up(self, opportunity_id: str) -> None:
        """An opportunity with products takes its Amount from their total, as Salesforce does."""
        opportunity = self.store.get(SYSTEM, "Opportunity", opportunity_id)
        if opportunity is None:
            return
        lines = self.store.find(SYSTEM, "OpportunityLineItem", "OpportunityId", opportunity_id)
        opportunity["Amount"] = float(sum((Decimal(str(line.get("TotalPrice") or 0)) for line in lines), Decimal(0)))
        self.save("Opportunity", opportunity)
