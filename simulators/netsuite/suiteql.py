"""A small, honest subset of SuiteQL: what q2c's bulk reads need, and NetSuite's error for the rest.

Supported: `SELECT cols|* FROM customer|transaction|item [WHERE cond [AND cond]...] [ORDER BY col [ASC|DESC]]`
where a condition is `col = | <> | != | < | <= | > | >= literal`, `col LIKE 'x%'`, `col IN ('a', 'b')`,
`col IS [NOT] NULL`, and a literal is a quoted string, a number or `TO_DATE('2026-11-01', 'YYYY-MM-DD')`.
Joins, grouping, functions and sub-queries are refused. Values come back as strings, as NetSuite's do;
dates in the account's default format (M/D/YYYY); null columns are left out of a row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from simulators.netsuite.errors import SYSTEM, NetSuiteError
from simulators.store import Store

Record = dict[str, Any]
_TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*')|(-?\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(<>|!=|<=|>=|[=<>(),*]))")
_TRAN_TYPES = {"salesOrder": "SalesOrd", "invoice": "CustInvc", "creditMemo": "CustCred"}
_DATES = {"trandate", "lastmodifieddate"}


def _ref(field: str) -> Callable[[Record], Any]:
    return lambda r: (r.get(field) or {}).get("id")


def _plain(field: str) -> Callable[[Record], Any]:
    return lambda r: r.get(field)


def _flag(field: str) -> Callable[[Record], Any]:
    return lambda r: "T" if r.get(field) else "F"


_COMMON = {"id": _plain("id"), "externalid": _plain("externalId"), "lastmodifieddate": _plain("lastModifiedDate")}
COLUMNS: dict[str, dict[str, Callable[[Record], Any]]] = {
    "customer": _COMMON
    | {
        "entityid": _plain("entityId"),
        "companyname": _plain("companyName"),
        "email": _plain("email"),
        "isinactive": _flag("isInactive"),
        "subsidiary": _ref("subsidiary"),
        "currency": lambda r: (r.get("currency") or {}).get("refName"),
        "creditlimit": _plain("creditLimit"),
    },
    "transaction": _COMMON
    | {
        "tranid": _plain("tranId"),
        "type": _plain("type"),
        "trandate": _plain("tranDate"),
        "entity": _ref("entity"),
        "currency": lambda r: (r.get("currency") or {}).get("refName"),
        "status": lambda r: (r.get("orderStatus") or r.get("status") or {}).get("id"),
        "foreigntotal": _plain("total"),
        "foreignamountremaining": _plain("amountRemaining"),
        "memo": _plain("memo"),
        "createdfrom": _ref("createdFrom"),
    },
    "item": _COMMON
    | {
        "itemid": _plain("itemId"),
        "displayname": _plain("displayName"),
        "isinactive": _flag("isInactive"),
        "itemtype": lambda r: "NonInvtPart",
    },
}


def invalid(message: str) -> NetSuiteError:
    return NetSuiteError(
        400, "INVALID_PARAMETER", f"Invalid search query. Detailed unprocessed description follows. {message}"
    )


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[str] = []
        at, text = 0, text.strip().rstrip(";")
        while at < len(text):
            match = _TOKEN.match(text, at)
            if match is None or match.end() == at:
                raise invalid(f"Search error occurred: unexpected text at {text[at : at + 20]!r}.")
            self.tokens.append(next(g for g in match.groups() if g is not None))
            at = match.end()
        self.at = 0

    def peek(self) -> str:
        return self.tokens[self.at] if self.at < len(self.tokens) else ""

    def take(self, *expected: str) -> str:
        token = self.peek()
        if expected and token.upper() not in expected:
            raise invalid(f"Search error occurred: expected {' or '.join(expected)} but found {token or 'the end'!r}.")
        self.at += 1
        return token

    def literal(self) -> Any:
        token = self.take()
        if token.startswith("'"):
            return token[1:-1].replace("''", "'")
        if token.upper() == "TO_DATE":
            self.take("(")
            value, _, pattern = self.take(), self.take(","), self.take()
            self.take(")")
            if pattern.strip("'").upper() != "YYYY-MM-DD":
                raise invalid("the simulator's TO_DATE understands the 'YYYY-MM-DD' format only.")
            return date.fromisoformat(value.strip("'"))
        try:
            return Decimal(token)
        except InvalidOperation:
            raise invalid(f"Search error occurred: {token!r} is not a value.") from None


def run(store: Store, query: str) -> list[Record]:
    """The rows a query selects, each a dict of lower-case column names to strings."""
    parser = _Parser(query)
    if parser.peek().upper() != "SELECT":
        raise invalid("Only SELECT statements are supported.")
    parser.take("SELECT")
    columns: list[str] = []
    while True:
        columns.append(parser.take().lower())
        if parser.peek() != ",":
            break
        parser.take(",")
    parser.take("FROM")
    table = parser.take().lower()
    if table not in COLUMNS:
        raise invalid(f"Search error occurred: Record '{table}' was not found.")
    known = COLUMNS[table]
    for column in [c for c in columns if c != "*"] or []:
        if column not in known:
            raise invalid(f"Search error occurred: Field '{column}' for record '{table}' was not found.")
    conditions: list[Callable[[Record], bool]] = []
    if parser.peek().upper() == "WHERE":
        parser.take()
        conditions.append(_condition(parser, table))
        while parser.peek().upper() == "AND":
            parser.take()
            conditions.append(_condition(parser, table))
    order: tuple[str, bool] | None = None
    if parser.peek().upper() == "ORDER":
        parser.take(), parser.take("BY")
        column = parser.take().lower()
        descending = parser.peek().upper() == "DESC"
        if parser.peek().upper() in ("ASC", "DESC"):
            parser.take()
        order = (column, descending)
    if parser.peek():
        raise invalid(
            f"the simulator supports SELECT ... FROM ... WHERE ... AND ... ORDER BY only, not {parser.peek()!r}"
        )
    rows = [row for row in _rows(store, table) if all(check(row) for check in conditions)]
    if order:
        rows.sort(
            key=lambda r: _sortable(order[0], known[order[0]](r) if order[0] in known else None), reverse=order[1]
        )
    wanted = list(known) if columns == ["*"] else columns
    return [{c: _text(c, known[c](row)) for c in wanted if known[c](row) is not None} for row in rows]


def _rows(store: Store, table: str) -> list[Record]:
    if table == "customer":
        return store.all(SYSTEM, "customer")
    if table == "item":
        return store.all(SYSTEM, "nonInventorySaleItem")
    found = []
    for kind, code in _TRAN_TYPES.items():
        found += [{**r, "type": code} for r in store.all(SYSTEM, kind)]
    return sorted(found, key=lambda r: int(r["id"]) if str(r["id"]).isdigit() else 0)


def _condition(parser: _Parser, table: str) -> Callable[[Record], bool]:
    column = parser.take().lower()
    if column not in COLUMNS[table]:
        raise invalid(f"Search error occurred: Field '{column}' for record '{table}' was not found.")
    read = COLUMNS[table][column]
    op = parser.take().upper()
    if op == "IS":
        negate = parser.peek().upper() == "NOT"
        if negate:
            parser.take()
        parser.take("NULL")
        return lambda r: (read(r) is None) != negate
    if op == "LIKE":
        pattern = re.escape(str(parser.literal())).replace("%", ".*").replace("_", ".")
        return lambda r: read(r) is not None and re.fullmatch(pattern, str(read(r)), re.S) is not None
    if op == "IN":
        parser.take("(")
        values = [parser.literal()]
        while parser.peek() == ",":
            parser.take()
            values.append(parser.literal())
        parser.take(")")
        return lambda r: any(_compare(column, read(r), v) == 0 for v in values)
    if op not in ("=", "<>", "!=", "<", "<=", ">", ">="):
        raise invalid(f"the simulator does not support the operator {op!r}.")
    value = parser.literal()
    tests = {"=": {0}, "<>": {-1, 1}, "!=": {-1, 1}, "<": {-1}, "<=": {-1, 0}, ">": {1}, ">=": {0, 1}}[op]
    return lambda r: read(r) is not None and _compare(column, read(r), value) in tests


def _sortable(column: str, value: Any) -> Any:
    if value is None:
        return (0, "")
    try:
        return (1, Decimal(str(value))) if column not in _DATES else (1, str(value))
    except InvalidOperation:
        return (1, str(value))


def _compare(column: str, have: Any, want: Any) -> int:
    if isinstance(want, date):
        left: Any = date.fromisoformat(str(have)[:10])
    elif isinstance(want, Decimal):
        try:
            left = Decimal(str(have))
        except InvalidOperation:
            return -2
    else:
        left, want = str(have), str(want)
    return (left > want) - (left < want)


def _text(column: str, value: Any) -> str:
    if column in _DATES and value:
        day = date.fromisoformat(str(value)[:10])
        return f"{day.month}/{day.day}/{day.year}"
    return str(value)
