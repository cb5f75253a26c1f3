"""SOQL evaluated over the simulator's records: filters, parent fields, child subqueries, order, paging."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from simulators.salesforce.ids import is_valid
from simulators.salesforce.schema import SObject, sobject
from simulators.salesforce.soql import BoolOp, Condition, Query, SoqlError, parse_datetime
from simulators.store import Record, Store

SYSTEM = "salesforce"


def attributes(name: str, record_id: str, version: str) -> dict[str, str]:
    return {"type": name, "url": f"/services/data/v{version}/sobjects/{name}/{record_id}"}


class Engine:
    """Runs a parsed query; every field it names is checked against the schema first, as Salesforce does."""

    def __init__(self, store: Store, version: str) -> None:
        self.store, self.version = store, version

    def run(self, query: Query) -> list[Record]:
        target = self.sobject(query.sobject)
        self.check(target, query)
        rows = [r for r in self.store.all(SYSTEM, target.name) if self.matches(target, r, query.where)]
        rows = self.ordered(target, rows, query.order)
        rows = rows[query.offset :]
        if query.limit is not None:
            rows = rows[: query.limit]
        if query.count:
            return rows
        return [self.shape(target, r, query) for r in rows]

    @staticmethod
    def sobject(name: str) -> SObject:
        found = sobject(name)
        if found is None:
            raise SoqlError(
                f"sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure "
                "to append the '__c' after the entity name.",
                "INVALID_TYPE",
            )
        return found

    def check(self, target: SObject, query: Query) -> None:
        for path in [*query.fields, *(o[0] for o in query.order), *self.condition_fields(query.where)]:
            self.resolve(target, path)
        self.check_ids(target, query.where)
        for child in query.children:
            relationship = next((r for r in target.children if r.lower() == child.sobject.lower()), None)
            if relationship is None:
                raise SoqlError(
                    f"Didn't understand relationship '{child.sobject}' in FROM part of query call. If you are "
                    "attempting to use a custom relationship, be sure to append the '__r' after the custom "
                    "relationship name.",
                    "INVALID_TYPE",
                )
            child_type = self.sobject(target.children[relationship][0])
            for path in [*child.fields, *self.condition_fields(child.where)]:
                self.resolve(child_type, path)

    def check_ids(self, target: SObject, node: Any) -> None:
        """An id filter with a value that cannot be an id is refused, as Salesforce refuses it."""
        if isinstance(node, BoolOp):
            for part in node.parts:
                self.check_ids(target, part)
        elif isinstance(node, Condition):
            owner, name = self.resolve(target, node.field)
            field = owner.field(name)
            values = node.value if isinstance(node.value, list) else [node.value]
            if field and field.type in ("id", "reference"):
                for value in values:
                    if isinstance(value, str) and not is_valid(value):
                        raise SoqlError(f"invalid ID field: {value}", "INVALID_QUERY_FILTER_OPERATOR")

    def condition_fields(self, node: Any) -> list[str]:
        if node is None:
            return []
        if isinstance(node, Condition):
            return [node.field]
        return [f for part in node.parts for f in self.condition_fields(part)]

    def resolve(self, target: SObject, path: str) -> tuple[SObject, str]:
        """The sObject and field a path names: `Amount`, or `Account.Name` through a parent lookup."""
        parts = path.split(".")
        current = target
        for relationship in parts[:-1]:
            lookup = current.parent(relationship)
            if lookup is None or lookup.reference_to is None:
                raise self.no_such_column(current, path)
            current = self.sobject(lookup.reference_to)
        found = current.field(parts[-1])
        if found is None:
            raise self.no_such_column(current, path)
        return current, found.name

    @staticmethod
    def no_such_column(target: SObject, path: str) -> SoqlError:
        return SoqlError(
            f"No such column '{path.split('.')[-1]}' on entity '{target.name}'. If you are attempting to use a "
            "custom field, be sure to append the '__c' after the custom field name.",
            "INVALID_FIELD",
        )

    def value(self, target: SObject, record: Record | None, path: str) -> Any:
        parts = path.split(".")
        current: SObject = target
        for relationship in parts[:-1]:
            lookup = current.parent(relationship)
            assert lookup is not None and lookup.reference_to is not None
            parent_id = record.get(lookup.name) if record else None
            current = self.sobject(lookup.reference_to)
            record = self.store.get(SYSTEM, current.name, parent_id) if parent_id else None
        field = current.field(parts[-1])
        assert field is not None
        raw = record.get(field.name) if record else None
        return typed(field.type, raw)

    def matches(self, target: SObject, record: Record, node: Any) -> bool:
        if node is None:
            return True
        if isinstance(node, BoolOp):
            results = (self.matches(target, record, part) for part in node.parts)
            if node.op == "AND":
                return all(results)
            if node.op == "OR":
                return any(results)
            return not next(results)
        return compare(self.value(target, record, node.field), node.op, node.value)

    def ordered(self, target: SObject, rows: list[Record], order: list[tuple[str, bool, bool]]) -> list[Record]:
        for path, descending, nulls_first in reversed(order):
            keyed = [(self.value(target, r, path), r) for r in rows]
            present = [pair for pair in keyed if pair[0] is not None]
            present.sort(key=lambda pair: sort_key(pair[0]), reverse=descending)
            absent = [r for value, r in keyed if value is None]
            rows = absent + [r for _, r in present] if nulls_first else [r for _, r in present] + absent
        return rows

    def shape(self, target: SObject, record: Record, query: Query) -> Record:
        row: Record = {"attributes": attributes(target.name, record["Id"], self.version)}
        for path in query.fields:
            self.place(target, record, path.split("."), row)
        for child in query.children:
            relationship = next(r for r in target.children if r.lower() == child.sobject.lower())
            child_name, lookup = target.children[relationship]
            child_type = self.sobject(child_name)
            sub = Query(child_name, child.fields, [], False, child.where, child.order, child.limit, child.offset)
            kids = [
                k
                for k in self.store.find(SYSTEM, child_name, lookup, record["Id"])
                if self.matches(child_type, k, child.where)
            ]
            kids = self.ordered(child_type, kids, child.order)[child.offset :][: child.limit]
            row[relationship] = (
                {"totalSize": len(kids), "done": True, "records": [self.shape(child_type, k, sub) for k in kids]}
                if kids
                else None
            )
        return row

    def place(self, target: SObject, record: Record | None, parts: list[str], row: Record) -> None:
        if len(parts) == 1:
            field = target.field(parts[0])
            assert field is not None
            row[field.name] = record.get(field.name) if record else None
            return
        lookup = target.parent(parts[0])
        assert lookup is not None and lookup.reference_to is not None
        parent_type = self.sobject(lookup.reference_to)
        parent_id = record.get(lookup.name) if record else None
        parent = self.store.get(SYSTEM, parent_type.name, parent_id) if parent_id else None
        if parent is None:
            row.setdefault(lookup.relationship or parts[0], None)
            return
        nested = row.get(lookup.relationship or parts[0]) or {
            "attributes": attributes(parent_type.name, parent["Id"], self.version)
        }
        row[lookup.relationship or parts[0]] = nested
        self.place(parent_type, parent, parts[1:], nested)


def typed(kind: str, raw: Any) -> Any:
    if raw is None:
        return None
    if kind in ("currency", "double", "percent", "int"):
        return Decimal(str(raw))
    if kind == "date":
        return date.fromisoformat(str(raw)[:10])
    if kind == "datetime":
        return parse_datetime(str(raw))
    return raw


def compare(actual: Any, op: str, expected: Any) -> bool:
    if isinstance(expected, tuple) and expected[0] == "since":  # LAST_N_DAYS:n
        actual_day = actual.date() if isinstance(actual, datetime) else actual
        return actual_day is not None and actual_day >= expected[1]
    if op in ("IN", "NOT IN"):
        found = any(compare(actual, "=", value) for value in expected)
        return found if op == "IN" else not found
    if op == "LIKE":
        pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in str(expected))
        return actual is not None and re.fullmatch(pattern, str(actual), re.IGNORECASE | re.DOTALL) is not None
    if isinstance(actual, datetime) and isinstance(expected, date) and not isinstance(expected, datetime):
        expected = datetime(expected.year, expected.month, expected.day, tzinfo=UTC)
    if isinstance(actual, str) and isinstance(expected, str):
        actual, expected = actual.casefold(), expected.casefold()  # SOQL compares text case-insensitively
    if op == "=":
        return bool(actual == expected)
    if op == "!=":
        return bool(actual != expected)
    if actual is None or expected is None:
        return False
    try:
        return {"<": actual < expected, "<=": actual <= expected, ">": actual > expected, ">=": actual >= expected}[op]
    except TypeError:
        raise SoqlError(f"value of filter criterion for field must be of type {type(actual).__name__}") from None


def sort_key(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value
