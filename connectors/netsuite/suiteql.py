"""SuiteQL's text: quoting a literal, and reading a refused column out of NetSuite's 400 as schema drift."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from connectors.errors import SchemaDrift

PATH = "/services/rest/query/v1/suiteql"
# SuiteQL's refusal of a column the account does not have. Oracle's pages do not quote it; the first is the
# simulator's wording, the second the one community write-ups report from NetSuite
# (https://cli.suiteportal.io/docs/guides/suiteql-gotchas). Either names the column.
_NO_FIELD = re.compile(r"Field '(?P<field>[^']+)' for record '(?P<record>[^']+)' was not found")
_NO_IDENTIFIER = re.compile(r"Unknown identifier '(?P<field>[^']+)'")
_FROM = re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE)


def refused_column(response: httpx.Response, body: Any) -> SchemaDrift | None:
    """SchemaDrift(netsuite, record, column) for a SuiteQL 400 naming a column the record does not have."""
    if response.status_code != 400 or not response.request.url.path.endswith(PATH):
        return None
    details = body.get("o:errorDetails") if isinstance(body, dict) else None
    first = details[0] if isinstance(details, list) and details else None
    detail = str(first.get("detail") or "") if isinstance(first, dict) else ""
    match = _NO_FIELD.search(detail) or _NO_IDENTIFIER.search(detail)
    if match is None:
        return None
    record = match.groupdict().get("record") or _queried_table(response.request)
    return SchemaDrift("netsuite", record, match["field"].lower(), f"SuiteQL refused the column: {detail}", status=400)


def _queried_table(request: httpx.Request) -> str:
    """The table after FROM in the query sent, for a refusal that names only the column."""
    try:
        query = str(json.loads(request.content).get("q", ""))
    except (ValueError, AttributeError, httpx.RequestNotRead):
        return "suiteql"
    match = _FROM.search(query)
    return match.group(1).lower() if match else "suiteql"


def quote(text: str) -> str:
    """A SuiteQL string literal's content, quotes doubled."""
    return text.replace("'", "''")
