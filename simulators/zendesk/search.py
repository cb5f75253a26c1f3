"""The Search API over organizations and tickets: `/search` (offset paged, 1,000 results at most) and
`/search/export` (cursor paged, one `filter[type]`)."""

from __future__ import annotations

import shlex

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from simulators.store import Record
from simulators.zendesk.account import Account
from simulators.zendesk.common import SYSTEM, ZendeskError, offset, paged

RESULT_LIMIT = 1000  # /search serves no result past the 1,000th
TYPES = ("organization", "ticket")
_TEXT = {"organization": ("name", "details", "notes"), "ticket": ("subject", "description")}


def _terms(query: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Free words and `property:value` terms (values may be quoted), as Zendesk's query syntax writes them."""
    try:
        tokens = shlex.split(query)
    except ValueError:
        raise ZendeskError(400, "invalid", "the query has an unbalanced quote") from None
    words, pairs = [], []
    for token in tokens:
        name, colon, value = token.partition(":")
        if colon and name and value:
            pairs.append((name.lower(), value))
        else:
            words.append(token.lower())
    return words, pairs


def _matches(kind: str, record: Record, words: list[str], pairs: list[tuple[str, str]]) -> bool:
    for name, value in pairs:
        if name == "type":
            if value != kind:
                return False
            continue
        field = {"organization": "organization_id"}.get(name, name) if kind == "ticket" else name
        actual = record.get(field)
        if isinstance(actual, list):
            if value not in actual:
                return False
        elif str(actual).lower() != value.lower():
            return False
    text = " ".join(str(record.get(f) or "") for f in _TEXT[kind]).lower()
    return all(word in text for word in words)


def router(account: Account) -> APIRouter:
    api = APIRouter()

    def results(query: str, only: str | None = None) -> list[Record]:
        words, pairs = _terms(query)
        kinds = [only] if only else [v for k, v in pairs if k == "type"] or list(TYPES)
        found = []
        for kind in kinds:
            if kind not in TYPES:
                continue
            for record in account.store.all(SYSTEM, kind):
                if _matches(kind, record, words, pairs):
                    shown = account.present(record) if kind == "organization" else record
                    found.append({**shown, "result_type": kind})
        return found

    @api.get("/api/v2/search")
    async def search(request: Request) -> Response:
        query = request.query_params.get("query")
        if not query:
            raise ZendeskError(400, "invalid", "query is required")
        per_page, page = offset(request)
        if page * per_page > RESULT_LIMIT:
            body = {
                "error": "invalid",
                "description": "Requested response size was greater than Search Response Limits",
            }
            return JSONResponse(body, status_code=422)
        found = results(query)
        answer = paged(request, found, "results", account.url("search.json"))
        return JSONResponse({**answer, "count": min(len(found), RESULT_LIMIT), "facets": None})

    @api.get("/api/v2/search/export")
    async def export(request: Request) -> Record:
        query, kind = request.query_params.get("query"), request.query_params.get("filter[type]")
        if not query or kind not in (*TYPES, "user", "group"):
            raise ZendeskError(
                400, "InvalidParameter", "query and filter[type] (organization, ticket, ...) are required"
            )
        if "page[size]" not in request.query_params:
            raise ZendeskError(400, "InvalidPaginationParameter", "search export pages by cursor: give page[size]")
        return {**paged(request, results(query, kind), "results", account.url("search/export.json")), "facets": None}

    return api
