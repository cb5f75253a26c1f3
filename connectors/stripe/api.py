"""Stripe's wire: form-encoded writes with bracket notation and an Idempotency-Key, `Stripe-Version` on every
request, `Stripe-Should-Retry` honoured, lists paged by cursor and searches by token to their end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from connectors.errors import BusinessRuleError, ConnectorError, SchemaDrift, TransientError
from connectors.http import VendorClient
from connectors.settings import StripeSettings
from connectors.stripe import fields
from connectors.stripe.mapping import encode_form

PAGE = 100  # Stripe's largest page: fewest round trips
SEARCH_CLAUSES = 10  # docs.stripe.com/search: a query has at most 10 clauses


class StripeApi(VendorClient):
    system = "stripe"

    def __init__(
        self, settings: StripeSettings | None = None, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.stripe_settings = settings or StripeSettings()
        super().__init__(self.stripe_settings, transport)

    def auth_headers(self) -> dict[str, str]:
        return {**super().auth_headers(), "Stripe-Version": self.stripe_settings.api_version}

    def vendor_error(self, response: httpx.Response) -> tuple[str | None, str]:
        error = (self.body(response) or {}).get("error") or {}
        param = f" (param {error['param']})" if error.get("param") else ""
        return error.get("code") or error.get("type"), (error.get("message") or response.text[:300]) + param

    def classify(self, response: httpx.Response, what: str) -> ConnectorError:
        """`Stripe-Should-Retry` is authoritative when present."""
        error = super().classify(response, what)
        should_retry = response.headers.get("stripe-should-retry")
        if should_retry == "false" and error.retryable:
            return BusinessRuleError(self.system, error.message, code=error.code, status=response.status_code)
        if should_retry == "true" and not error.retryable:
            return TransientError(self.system, error.message, code=error.code, status=response.status_code)
        return error

    def _json(self, response: httpx.Response, what: str) -> dict[str, Any]:
        """Numbers as exact Decimals (a fraction where minor units belong then fails as drift); a body that is
        not JSON is the vendor's ProtocolError, one that is not an object is drift."""
        body = self.decoded(response)
        if not isinstance(body, dict):
            raise SchemaDrift("stripe", what, "(body)", f"expected an object, got {type(body).__name__}")
        return body

    async def post(self, path: str, params: Mapping[str, Any], idempotency_key: str) -> dict[str, Any]:
        response = await self.request(
            "POST",
            path,
            content=encode_form(params),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Idempotency-Key": idempotency_key},
        )
        return self._json(response, path)

    async def get(self, path: str, params: Any = None) -> dict[str, Any]:
        return self._json(await self.request("GET", path, params=params), path)

    async def delete(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """DELETE, its params in the query as Stripe's clients send them (Stripe keys no DELETE by idempotency)."""
        return self._json(await self.request("DELETE", path, params=params), path)

    async def list_all(self, path: str, params: Mapping[str, Any] | None = None) -> AsyncIterator[dict[str, Any]]:
        """Every object of a list endpoint, page after page (`starting_after` the last id) until `has_more` is false."""
        query = {**(params or {}), "limit": PAGE}
        while True:
            page = await self.get(path, encode_form(query))
            data = fields.listed(page, "list", "data")
            for record in data:
                yield record
            if page.get("has_more") is not True or not data:
                return
            query["starting_after"] = fields.required_text(data[-1], "list item", "id")

    async def search_all(self, path: str, query: str) -> AsyncIterator[dict[str, Any]]:
        """Every result of a search, following `next_page` (search pages by token, not by cursor id)."""
        params: dict[str, Any] = {"query": query, "limit": PAGE}
        while True:
            page = await self.get(path, encode_form(params))
            for record in fields.listed(page, "search_result", "data"):
                yield record
            token = page.get("next_page")
            if page.get("has_more") is not True or not token:
                return
            params["page"] = token

    async def subscriptions_tagged(self, key: str, value: str) -> list[dict[str, Any]]:
        """Subscriptions whose metadata has key = value (Stripe's search API, every page), raw."""
        quoted = value.replace("\\", "\\\\").replace("'", "\\'")
        return [r async for r in self.search_all("/v1/subscriptions/search", f"metadata['{key}']:'{quoted}'")]

    async def tagged_any(self, path: str, key: str, values: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Records (raw) whose metadata `key` is one of `values`, by value: one search per SEARCH_CLAUSES values,
        joined by OR (Stripe's search takes at most 10 clauses). Search trails writes by up to a minute."""
        found: dict[str, list[dict[str, Any]]] = {}
        wanted = list(dict.fromkeys(values))
        for start in range(0, len(wanted), SEARCH_CLAUSES):
            chunk = wanted[start : start + SEARCH_CLAUSES]
            query = " OR ".join(f"metadata['{key}']:'{_search_quoted(v)}'" for v in chunk)
            async for record in self.search_all(path, query):
                value = (record.get("metadata") or {}).get(key)
                if value in chunk:
                    found.setdefault(value, []).append(record)
        return found


def _search_quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
