"""Stripe's search query language, for the fields each searchable resource documents, with `page`/`next_page`.

https://docs.stripe.com/search#search-query-language: clauses `field:value` (exact, case-insensitive),
`field~"sub"` (substring, 3+ characters), `field>n` and friends on numbers, `-` negates, `metadata['key']`,
`null` for a missing value; clauses joined by AND or OR (not both), at most 10.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from simulators.store import Record
from simulators.stripe.core import Stripe, invalid, limit_of

Field = Callable[[Record], Any]
_CLAUSE = re.compile(
    r"""\s*(?P<neg>-)?(?P<field>[a-z_]+(?:\[(?P<q1>['"])(?P<key>[^'"]+)(?P=q1)\])?)\s*"""
    r"""(?P<op>>=|<=|:|~|>|<)\s*(?P<value>(?P<q2>['"])(?P<text>(?:\\.|(?!(?P=q2)).)*)(?P=q2)|-?\d+|null)\s*"""
)


def clauses(query: str) -> tuple[str, list[re.Match[str]]]:
    """(joiner, clauses); a query that does not parse is refused with Stripe's `query` param."""
    found: list[re.Match[str]] = []
    joiners: set[str] = set()
    position = 0
    while True:
        match = _CLAUSE.match(query, position)
        if match is None:
            raise invalid(
                f"We were unable to parse your search query. Try using the format `field:'value'`: {query}", "query"
            )
        found.append(match)
        position = match.end()
        if position >= len(query.rstrip()):
            break
        joiner = re.match(r"(AND|OR)\s+", query[position:])
        if joiner is None:
            raise invalid(f"We were unable to parse your search query near position {position}: {query}", "query")
        joiners.add(joiner.group(1))
        position += joiner.end()
    if len(joiners) > 1:
        raise invalid("Search queries cannot combine AND and OR clauses.", "query")
    if len(found) > 10:
        raise invalid("Search queries may have at most 10 clauses.", "query")
    return (joiners.pop() if joiners else "AND"), found


def _matches(record: Record, clause: re.Match[str], fields: dict[str, Field]) -> bool:
    name = clause["field"]
    if clause["key"] is not None:
        if not name.startswith("metadata["):
            raise invalid(f"Field `{name}` is not supported for this search.", "query")
        actual: Any = (record.get("metadata") or {}).get(clause["key"])
    else:
        if name not in fields:
            supported = ", ".join(sorted([*fields, "metadata"]))
            raise invalid(f"Field `{name}` is an unsupported search field. Supported: {supported}.", "query")
        actual = fields[name](record)
    op, value = clause["op"], clause["value"]
    if value == "null":
        result = actual is None or actual == ""
    elif clause["text"] is not None:
        text = re.sub(r"\\(.)", r"\1", clause["text"]).lower()  # \' is a quote, \\ a backslash
        if op == "~":
            if len(text) < 3:
                raise invalid("Substring matches (`~`) need at least 3 characters.", "query")
            result = actual is not None and text in str(actual).lower()
        else:
            result = actual is not None and str(actual).lower() == text
    else:
        number = int(value)
        compare = {":": int.__eq__, ">": int.__gt__, "<": int.__lt__, ">=": int.__ge__, "<=": int.__le__}
        if op not in compare:
            raise invalid(f"Operator `{op}` does not apply to numbers.", "query")
        result = isinstance(actual, int) and compare[op](actual, number)
    return not result if clause["neg"] else result


def search(
    st: Stripe, records: list[Record], fields: dict[str, Field], query: Record, url: str, version: str
) -> Record:
    text = query.get("query")
    if not text:
        raise invalid("Missing required param: query.", "query", "parameter_missing")
    joiner, parsed = clauses(str(text))
    test = all if joiner == "AND" else any
    found = [r for r in records if test(_matches(r, c, fields) for c in parsed)]
    found.sort(key=lambda r: (int(r["created"]), str(r["id"])), reverse=True)
    limit, start = limit_of(query), _offset(query.get("page"))
    data = found[start : start + limit]
    more = len(found) > start + limit
    result: Record = {
        "object": "search_result",
        "data": [st.render(r, version) for r in data],
        "has_more": more,
        "next_page": _token(start + limit) if more else None,
        "url": url,
    }
    expand = [e for e in (query.get("expand") or []) if e != "total_count"]
    if "total_count" in (query.get("expand") or []):
        result["total_count"] = len(found)
    return st.expand(result, expand, version)


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"q2c-sim:{offset}".encode()).decode()


def _offset(page: Any) -> int:
    if not page:
        return 0
    try:
        prefix, _, number = base64.urlsafe_b64decode(str(page).encode()).decode().partition(":")
        if prefix == "q2c-sim" and number.isdigit():
            return int(number)
    except ValueError:
        pass
    raise invalid(f"Invalid page: {page}", "page")
