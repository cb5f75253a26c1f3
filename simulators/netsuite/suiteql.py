"""A small, honest subset of SuiteQL: what q2c's bulk reads need, and NetSuite's error for the rest.

Supported: `SELECT cols|* FROM customer|transaction|item|currency [WHERE cond] [ORDER BY col [ASC|DESC]]`
where conditions combine with AND, OR and parentheses, and each is `col = | <> | != | < | <= | > | >= literal`,
`col LIKE 'x%'`, `col IN ('a', 'b')` or `col IS [NOT] NULL`; a literal is a quoted string, a number or
`TO_DATE('2026-11-01', 'YYYY-MM-DD')`. Joins, grouping, functions and sub-queries are refused; a result of
more than 100,000 rows is NetSuite's error. Values come back as strings, as NetSuite's do; dates in the
account's default format (M/D/YYYY); null columns are left out of a row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from simulators.netsuite import suiteql_tables as tables
from simulators.netsuite.errors import NetSuiteError
from simulators.netsuite.suiteql_tables import COLUMNS, Range
from simulators.store import Store

Record = dict[str, Any]
_TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*')|(-?\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(<>|!=|<=|>=|[=<>(),*]))")
_DATES = {"trandate", "lastmodifieddate"}
MAX_RESULTS = 100_000  # rows one query can reach, over all its pages
_LAST = "\U0010ffff"  # sorts after any character: the top of a prefix's external id range


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


class Where:
    """A parsed condition: a row test, and the external id ranges that hold every row it can accept (None: any)."""

    def __init__(self, test: Callable[[Record], bool], ranges: list[Range] | None = None) -> None:
        self.test, self.ranges = test, ranges


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
    where = Where(lambda r: True)
    if parser.peek().upper() == "WHERE":
        parser.take()
        where = _either(parser, table)
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
            f"the simulator supports SELECT ... FROM ... WHERE ... AND/OR ... ORDER BY only, not {parser.peek()!r}"
        )
    selected = [row for row in tables.rows(store, table, where.ranges) if where.test(row)]
    if order:
        selected.sort(
            key=lambda r: _sortable(order[0], known[order[0]](r) if order[0] in known else None), reverse=order[1]
        )
    wanted = list(known) if columns == ["*"] else columns
    return [{c: _text(c, known[c](row)) for c in wanted if known[c](row) is not None} for row in selected]


def _either(parser: _Parser, table: str) -> Where:
    """`a OR b OR ...`: every range of every branch, unless one branch may match anything."""
    branches = [_both(parser, table)]
    while parser.peek().upper() == "OR":
        parser.take()
        branches.append(_both(parser, table))
    if len(branches) == 1:
        return branches[0]
    ranges = None if any(b.ranges is None for b in branches) else [r for b in branches for r in b.ranges or []]
    return Where(lambda r: any(b.test(r) for b in branches), ranges)


def _both(parser: _Parser, table: str) -> Where:
    """`a AND b AND ...`: the narrowest known ranges of any part (every row must be in each part's)."""
    parts = [_factor(parser, table)]
    while parser.peek().upper() == "AND":
        parser.take()
        parts.append(_factor(parser, table))
    if len(parts) == 1:
        return parts[0]
    bounded = [p.ranges for p in parts if p.ranges is not None]
    return Where(lambda r: all(p.test(r) for p in parts), min(bounded, key=len) if bounded else None)


def _factor(parser: _Parser, table: str) -> Where:
    if parser.peek() == "(":
        parser.take()
        inner = _either(parser, table)
        parser.take(")")
        return inner
    return _condition(parser, table)


def _condition(parser: _Parser, table: str) -> Where:
    column = parser.take().lower()
    if column not in COLUMNS[table]:
        raise invalid(f"Search error occurred: Field '{column}' for record '{table}' was not found.")
    read = COLUMNS[table][column]
    indexed = column == "externalid" and table != "currency"
    op = parser.take().upper()
    if op == "IS":
        negate = parser.peek().upper() == "NOT"
        if negate:
            parser.take()
        parser.take("NULL")
        return Where(lambda r: (read(r) is None) != negate)
    if op == "LIKE":
        text = str(parser.literal())
        pattern = re.escape(text).replace("%", ".*").replace("_", ".")
        prefix = re.split(r"[%_]", text, maxsplit=1)[0]
        ranges = [(prefix, prefix + _LAST)] if indexed and prefix else None
        return Where(lambda r: read(r) is not None and re.fullmatch(pattern, str(read(r)), re.S) is not None, ranges)
    if op == "IN":
        parser.take("(")
        values = [parser.literal()]
        while parser.peek() == ",":
            parser.take()
            values.append(parser.literal())
        parser.take(")")
        exact = [(str(v), str(v)) for v in values] if indexed else None
        return Where(lambda r: any(_compare(column, read(r), v) == 0 for v in values), exact)
    if op not in ("=", "<>", "!=", "<", "<=", ">", ">="):
        raise invalid(f"the simulator does not support the operator {op!r}.")
    value = parser.literal()
    tests = {"=": {0}, "<>": {-1, 1}, "!=": {-1, 1}, "<": {-1}, "<=": {-1, 0}, ">": {1}, ">=": {0, 1}}[op]
    ranges = [(str(value), str(value))] if indexed and op == "=" else None
    return Where(lambda r: read(r) is not None and _compare(column, read(r), value) in tests, ranges)


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
