"""NetSuite's reads: records and collections paged to their end, SuiteQL queries, the catalog and the
account's currencies. Every amount is an exact Decimal, also where NetSuite sends a JSON number."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from connectors.errors import BusinessRuleError, SchemaDrift, TransientError
from connectors.http import VendorClient
from connectors.netsuite import fields
from connectors.netsuite.currencies import QUERY as CURRENCY_QUERY
from connectors.netsuite.currencies import Currencies
from connectors.netsuite.mapping import RECORDS
from connectors.netsuite.suiteql import PATH as SUITEQL
from connectors.netsuite.suiteql import quote as _quote
from connectors.settings import VendorSettings

PAGE_SIZE = 1000  # NetSuite's largest page
TRANSACTION_TYPES = {"salesOrder": "SalesOrd", "invoice": "CustInvc", "creditMemo": "CustCred"}
SAGAS_PER_QUERY = 200  # external ids named in one SuiteQL query: a reconciliation page (200 deals) in one
SKUS_PER_QUERY = 500  # SKUs named in one catalog query's IN list; a deal names a handful
TIER = "custitem_q2c_service_tier"  # the item's custom field, queried by its lower-case script id


class NetSuiteQueries(VendorClient):
    system = "netsuite"

    def __init__(self, settings: VendorSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(settings, transport)
        self._currencies: Currencies | None = None  # read on first use
        self._currency_read = asyncio.Lock()

    @staticmethod
    def parse(response: httpx.Response) -> Any:
        """JSON with every non-integer number as an exact Decimal (NetSuite sends amounts as numbers)."""
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise TransientError(  # a proxy's error page or a cut-off body: the vendor's passing fault
                "netsuite",
                f"{response.request.method} {response.request.url.path}: the answer is not JSON",
                code="protocol_error",
                status=response.status_code,
            ) from None

    async def _pages(
        self, method: str, path: str, *, params: dict[str, str] | None = None, json_body: Any = None, **headers: str
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Each page's items, `offset` moved on until `hasMore` is false."""
        offset = 0
        while True:
            query = {**(params or {}), "limit": str(PAGE_SIZE), "offset": str(offset)}
            page = self.parse(await self.request(method, path, params=query, json=json_body, headers=headers))
            items = page.get("items") if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise SchemaDrift("netsuite", "collection", "items", f"expected a list on {path}")
            yield items
            if not page.get("hasMore") or not items:
                return
            offset += len(items)

    async def list_ids(self, record_type: str, query: str | None = None) -> list[str]:
        """Every id of a record type (or those a list query such as `externalId START_WITH "x"` matches)."""
        ids: list[str] = []
        async for items in self._pages("GET", f"{RECORDS}/{record_type}", params={"q": query} if query else None):
            ids += [str(item["id"]) for item in items]
        return ids

    async def suiteql(self, query: str) -> list[dict[str, Any]]:
        """Every row of a SuiteQL SELECT, all pages read; NetSuite sends the values as strings.

        Column names are lower-cased here: Oracle warns their casing in results "may not always be consistent
        and can change" (https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156257796125.html).
        """
        rows: list[dict[str, Any]] = []
        async for items in self._pages("POST", SUITEQL, json_body={"q": query}, Prefer="transient"):
            rows += [{k.lower(): v for k, v in item.items() if k != "links"} for item in items]
        return rows

    async def transactions(
        self,
        record_type: str,
        *,
        external_id_prefix: str | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> list[dict[str, Any]]:
        """Sales orders, invoices or credit memos by external id prefix and transaction date window (SuiteQL)."""
        where = [f"type = '{TRANSACTION_TYPES[record_type]}'"]
        if external_id_prefix is not None:
            where.append(f"externalid LIKE '{_quote(external_id_prefix)}%'")
        if since is not None:
            where.append(f"trandate >= TO_DATE('{since.isoformat()}', 'YYYY-MM-DD')")
        if until is not None:
            where.append(f"trandate <= TO_DATE('{until.isoformat()}', 'YYYY-MM-DD')")
        columns = "id, tranid, externalid, trandate, entity, status, currency, foreigntotal"
        rows = await self.suiteql(f"SELECT {columns} FROM transaction WHERE {' AND '.join(where)} ORDER BY id")
        # `_` and `%` in the prefix are LIKE wildcards: they can only over-match, so filter exactly here
        prefix = external_id_prefix or ""
        return [row for row in rows if str(row.get("externalid", "")).startswith(prefix)]

    async def currencies(self, ids: Iterable[Any] = (), codes: Iterable[str] = ()) -> Currencies:
        """The account's currencies, read once per client and again when a record names one not yet seen
        (an administrator may add a currency while the worker runs). Concurrent first calls share one read."""
        wanted = ([str(i) for i in ids], [c.upper() for c in codes])
        known = self._currencies
        if known is None or not self._knows(known, *wanted):
            async with self._currency_read:
                known = self._currencies  # another call may have read them while this one waited
                if known is None or not self._knows(known, *wanted):
                    known = self._currencies = Currencies(await self.suiteql(CURRENCY_QUERY))
        return known

    @staticmethod
    def _knows(known: Currencies, ids: list[str], codes: list[str]) -> bool:
        return all(i in known.code_by_id for i in ids) and all(c in known.id_by_code for c in codes)

    async def by_external_ids(
        self, record_types: list[str], *, prefixes: Sequence[str] = (), exact: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """Transactions of these types whose external id starts with one of `prefixes` or is one of `exact`:
        one SuiteQL query per SAGAS_PER_QUERY names, each row's `currency` as its ISO code."""
        types = ", ".join(f"'{TRANSACTION_TYPES[t]}'" for t in record_types)
        columns = "id, tranid, externalid, trandate, entity, status, currency, foreigntotal, type"
        found: list[dict[str, Any]] = []
        names = [(True, p) for p in prefixes] + [(False, e) for e in exact]
        for start in range(0, len(names), SAGAS_PER_QUERY):
            chunk = names[start : start + SAGAS_PER_QUERY]
            match = " OR ".join(
                f"externalid LIKE '{_quote(name)}%'" if prefix else f"externalid = '{_quote(name)}'"
                for prefix, name in chunk
            )
            query = f"SELECT {columns} FROM transaction WHERE type IN ({types}) AND ({match}) ORDER BY id"
            for row in await self.suiteql(query):
                wanted = str(row.get("externalid", ""))
                # `_` and `%` are LIKE wildcards: keep only exact prefixes
                if any(wanted.startswith(n) if p else wanted == n for p, n in chunk):
                    found.append(row)
        currencies = await self.currencies(ids=[row.get("currency") for row in found])  # SuiteQL answers the id
        return [{**row, "currency": currencies.code({"id": row.get("currency")}, "transaction")} for row in found]

    async def resolve_items(self, skus: list[str]) -> dict[str, str]:
        """SKU -> ERP item id; an unknown SKU is a business error naming it."""
        return (await self.resolve_catalog(skus))[0]

    async def resolve_catalog(self, skus: list[str]) -> tuple[dict[str, str], dict[str, str]]:
        """(SKU -> item id, SKU -> support tier it entitles) for active ERP items, in the SKUs' first order.

        One SuiteQL query per SKUS_PER_QUERY SKUs, not a record GET per SKU: NetSuite limits the requests an
        account has in flight, and each costs a round trip. SuiteQL via REST
        (https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html) answers
        strings, a checkbox as "T"/"F", and leaves a null column (an item without a tier) out of its row.
        """
        wanted = list(dict.fromkeys(skus))
        found = await self._items(wanted)
        ids, tiers = {}, {}
        for sku in wanted:
            item = found.get(sku)
            if item is None:
                raise BusinessRuleError(self.system, f"product {sku!r} has no active ERP item", code="UNKNOWN_PRODUCT")
            ids[sku] = str(item["id"])
            if item.get(TIER):
                tiers[sku] = str(item[TIER])
        return ids, tiers

    async def _items(self, skus: list[str]) -> dict[str, dict[str, Any]]:
        """SKU (external id) -> its active item's SuiteQL row, each row checked for schema drift."""
        active: dict[str, dict[str, Any]] = {}
        for start in range(0, len(skus), SKUS_PER_QUERY):
            names = ", ".join(f"'{_quote(sku)}'" for sku in skus[start : start + SKUS_PER_QUERY])
            query = f"SELECT id, externalid, isinactive, {TIER} FROM item WHERE externalid IN ({names}) ORDER BY id"
            for row in await self.suiteql(query):
                fields.check("item", row)
                if row.get("isinactive") != "T":
                    active.setdefault(str(row["externalid"]), row)
        return active
