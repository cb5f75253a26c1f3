"""The SOQL that q2c and a typical integration send, parsed into a small tree and evaluated over records.

Supported: `SELECT` fields, parent fields (`Account.Name`), child subqueries (`(SELECT ... FROM
OpportunityLineItems)`) and `COUNT()`; `FROM` one sObject; `WHERE` with `AND`/`OR`/`NOT`, parentheses,
`= != <> < <= > >=`, `IN`/`NOT IN`, `LIKE`, and literals (strings, numbers, `true`/`false`, `null`, dates,
date-times, `TODAY`, `YESTERDAY`, `LAST_N_DAYS:n`); `ORDER BY` with `ASC`/`DESC` and `NULLS FIRST|LAST`;
`LIMIT`; `OFFSET`. Anything else is refused as Salesforce refuses it, with `MALFORMED_QUERY`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')|(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))"
    r"|(?P<date>\d{4}-\d{2}-\d{2})|(?P<number>-?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|<>|=|<|>)"
    r"|(?P<punct>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*(?::\d+)?))"
)


class SoqlError(ValueError):
    """A query Salesforce would refuse; `code` is its errorCode."""

    def __init__(self, message: str, code: str = "MALFORMED_QUERY") -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Condition:
    field: str
    op: str
    value: Any


@dataclass
class BoolOp:
    op: str  # AND, OR, NOT
    parts: list[Any]


@dataclass
class Query:
    sobject: str
    fields: list[str] = field(default_factory=list)
    children: list[Query] = field(default_factory=list)
    count: bool = False
    where: Any = None
    order: list[tuple[str, bool, bool]] = field(default_factory=list)  # field, descending, nulls first
    limit: int | None = None
    offset: int = 0


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise SoqlError(f"unexpected token: '{text[position : position + 20].strip()}'")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, today: date) -> None:
        self.tokens, self.at, self.today = tokenize(text), 0, today

    def peek(self, ahead: int = 0) -> tuple[str, str]:
        index = self.at + ahead
        return self.tokens[index] if index < len(self.tokens) else ("end", "")

    def keyword(self, *words: str) -> bool:
        if self.peek()[0] == "word" and all(self.peek(i)[1].upper() == w for i, w in enumerate(words)):
            self.at += len(words)
            return True
        return False

    def expect(self, value: str) -> None:
        found = self.peek()[1]
        if found.upper() != value:
            raise SoqlError(f"expecting '{value}', found '{found or 'end of query'}'")
        self.at += 1

    def name(self) -> str:
        kind, value = self.peek()
        if kind != "word":
            raise SoqlError(f"expecting a field or object name, found '{value or 'end of query'}'")
        self.at += 1
        return value

    def query(self) -> Query:
        self.expect("SELECT")
        fields: list[str] = []
        children: list[Query] = []
        count = False
        while True:
            if self.peek()[1] == "(":
                self.at += 1
                children.append(self.query())
                self.expect(")")
            elif self.keyword("COUNT", "(", ")"):
                count = True
            else:
                fields.append(self.name())
            if self.peek()[1] != ",":
                break
            self.at += 1
        self.expect("FROM")
        query = Query(sobject=self.name(), fields=fields, children=children, count=count)
        if self.keyword("WHERE"):
            query.where = self.disjunction()
        if self.keyword("ORDER", "BY"):
            while True:
                name = self.name()
                descending = self.keyword("DESC")
                if not descending:
                    self.keyword("ASC")
                nulls_first = not descending
                if self.keyword("NULLS", "FIRST"):
                    nulls_first = True
                elif self.keyword("NULLS", "LAST"):
                    nulls_first = False
                query.order.append((name, descending, nulls_first))
                if self.peek()[1] != ",":
                    break
                self.at += 1
        if self.keyword("LIMIT"):
            query.limit = self.integer()
        if self.keyword("OFFSET"):
            query.offset = self.integer()
        return query

    def integer(self) -> int:
        kind, value = self.peek()
        if kind != "number" or "." in value or value.startswith("-"):
            raise SoqlError(f"expecting a non-negative integer, found '{value}'")
        self.at += 1
        return int(value)

    def disjunction(self) -> Any:
        parts = [self.conjunction()]
        while self.keyword("OR"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else BoolOp("OR", parts)

    def conjunction(self) -> Any:
        parts = [self.negation()]
        while self.keyword("AND"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else BoolOp("AND", parts)

    def negation(self) -> Any:
        if self.keyword("NOT"):
            return BoolOp("NOT", [self.negation()])
        if self.peek()[1] == "(":
            self.at += 1
            inner = self.disjunction()
            self.expect(")")
            return inner
        name = self.name()
        if self.keyword("NOT", "IN"):
            return Condition(name, "NOT IN", self.values())
        if self.keyword("IN"):
            return Condition(name, "IN", self.values())
        if self.keyword("LIKE"):
            return Condition(name, "LIKE", self.literal())
        kind, op = self.peek()
        if kind != "op":
            raise SoqlError(f"unexpected token: '{op or 'end of query'}' after '{name}'")
        self.at += 1
        return Condition(name, "!=" if op == "<>" else op, self.literal())

    def values(self) -> list[Any]:
        self.expect("(")
        found = [self.literal()]
        while self.peek()[1] == ",":
            self.at += 1
            found.append(self.literal())
        self.expect(")")
        return found

    def literal(self) -> Any:
        kind, value = self.peek()
        self.at += 1
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", value[1:-1])
        if kind == "number":
            return Decimal(value)
        if kind == "date":
            return date.fromisoformat(value)
        if kind == "datetime":
            return parse_datetime(value)
        if kind == "word":
            word = value.upper()
            if word in ("TRUE", "FALSE"):
                return word == "TRUE"
            if word == "NULL":
                return None
            if word == "TODAY":
                return self.today
            if word == "YESTERDAY":
                return self.today - timedelta(days=1)
            if word.startswith("LAST_N_DAYS:"):
                return ("since", self.today - timedelta(days=int(word.split(":")[1])))
        raise SoqlError(f"unexpected token: '{value or 'end of query'}' where a value belongs")


def parse(text: str, today: date | None = None) -> Query:
    parser = _Parser(text, today or datetime.now(UTC).date())
    query = parser.query()
    if parser.peek()[0] != "end":
        raise SoqlError(f"unexpected token: '{parser.peek()[1]}'")
    return query


def parse_datetime(value: str) -> datetime:
    """Salesforce writes `2026-11-28T20:00:00.000+0000`; SOQL takes `...Z` or `+hh:mm` too."""
    value = value.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", value):
        value = value[:-2] + ":" + value[-2:]
    return datetime.fromisoformat(value)
