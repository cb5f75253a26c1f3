"""NetSuite REST records: eid: upserts, create-if-absent by external id, transforms, 204 + Location.

Reads ask for sublists (`expandSubResources=true`), parse amounts as exact Decimals and page every list
to its end. Writes ask NetSuite to refuse a field it does not know rather than drop it silently.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from connectors.errors import BusinessRuleError, ConnectorError, NotFound, SchemaDrift, TransientError
from connectors.http import VendorClient
from connectors.netsuite import fields
from connectors.netsuite.auth import netsuite_auth
from connectors.netsuite.mapping import (
    RECORDS,
    customer_to_netsuite,
    invoice_from_netsuite,
    order_from_netsuite,
    order_to_netsuite,
)
from connectors.netsuite.suiteql import PATH as SUITEQL
from connectors.netsuite.suiteql import quote as _quote
from connectors.netsuite.suiteql import refused_column
from connectors.settings import NetSuiteSettings
from models.money import Money
from models.orders import Invoice, OrderStatus, SalesOrder
from models.party import CreditPosition, Customer

PAGE_SIZE = 1000  # NetSuite's largest page
STRICT = {"X-NetSuite-PropertyNameValidation": "Error"}
TRANSACTION_TYPES = {"salesOrder": "SalesOrd", "invoice": "CustInvc", "creditMemo": "CustCred"}
SAGAS_PER_QUERY = 200  # external ids named in one SuiteQL query: a reconciliation page (200 deals) in one
SKUS_PER_QUERY = 500  # SKUs named in one catalog query's IN list; a deal names a handful
TIER = "custitem_q2c_service_tier"  # the item's custom field, queried by its lower-case script id


class NetSuiteClient(VendorClient):
    system = "netsuite"

    def __init__(
        self, settings: NetSuiteSettings | None = None, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        settings = settings or NetSuiteSettings()
        super().__init__(settings, transport)
        self._currencies: dict[str, str] | None = None
        login = netsuite_auth(settings)
        if login is not None:
            self._http.auth = login

    def auth_headers(self) -> dict[str, str]:
        settings = self.settings
        if isinstance(settings, NetSuiteSettings) and settings.auth_mode != "bearer":
            return {}  # signed or token-bearing per request, by the httpx.Auth flow
        return super().auth_headers()

    def vendor_error(self, response: httpx.Response) -> tuple[str | None, str]:
        body = self.body(response) or {}
        details = body.get("o:errorDetails") or [{}]
        path = details[0].get("o:errorPath")
        message = details[0].get("detail") or body.get("title") or response.text[:300]
        code = details[0].get("o:errorCode")
        if code == "USER_ERROR" and path == "entity.defaultTaxReg":
            code = "MISSING_TAX_REGISTRATION"  # a person can fix it in the ERP; the saga parks for them
        refusal = getattr(self._http.auth, "refusal", None)
        if response.status_code == 401 and refusal:
            message += f" ({refusal})"
        return code, message + (f" (at {path})" if path else "")

    def business_error(self, response: httpx.Response, code: str | None, message: str) -> ConnectorError:
        """A SuiteQL query refused for a column the account lacks is schema drift, not a business refusal."""
        drift = refused_column(response, self.body(response))
        return drift if drift is not None else super().business_error(response, code, message)

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

    @staticmethod
    def _id_from_location(response: httpx.Response) -> str:
        location = response.headers.get("location")
        if not location:
            raise BusinessRuleError("netsuite", "a create answered without a Location header", code="NO_LOCATION")
        return location.rstrip("/").rsplit("/", 1)[-1]

    async def get(self, record_type: str, ref: str) -> dict[str, Any]:
        """One record with its sublists expanded and its amounts as Decimals."""
        response = await self.request("GET", f"{RECORDS}/{record_type}/{ref}", params={"expandSubResources": "true"})
        return dict(self.parse(response))

    async def find(self, record_type: str, ref: str) -> dict[str, Any] | None:
        try:
            return await self.get(record_type, ref)
        except NotFound:
            return None

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

    async def currency_codes(self) -> dict[str, str]:
        """Currency internal id -> ISO code (`symbol`): SuiteQL answers a transaction's currency as its id."""
        if self._currencies is None:
            rows = await self.suiteql("SELECT id, symbol FROM currency ORDER BY id")
            self._currencies = {str(row["id"]): str(row["symbol"]) for row in rows if row.get("symbol")}
        return self._currencies

    async def by_external_ids(
        self, record_types: list[str], *, prefixes: Sequence[str] = (), exact: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """Transactions of these types whose external id starts with one of `prefixes` or is one of `exact`:
        one SuiteQL query per SAGAS_PER_QUERY names, each row's `currency` as its ISO code."""
        codes = await self.currency_codes()
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
                    found.append({**row, "currency": codes.get(str(row.get("currency")), row.get("currency"))})
        return found

    async def upsert_customer(self, customer: Customer) -> str:
        """PUT customer/eid:<q2c customer id>: the same customer never appears twice. Returns the internal id."""
        response = await self.request(
            "PUT", f"{RECORDS}/customer/eid:{customer.id}", json=customer_to_netsuite(customer), headers=STRICT
        )
        return self._id_from_location(response)

    async def update_customer(self, external_id: str, fields: dict[str, Any]) -> None:
        """PATCH a few fields of the customer with this external id (204)."""
        await self.request("PATCH", f"{RECORDS}/customer/eid:{external_id}", json=fields, headers=STRICT)

    async def credit_position(self, customer_ref: str) -> CreditPosition:
        record = fields.check("customer", await self.get("customer", customer_ref))
        currency = record["currency"]["refName"]
        limit = fields.amount("customer", record, "creditLimit")
        balance = fields.amount("customer", record, "balance") or Decimal(0)
        unbilled = fields.amount("customer", record, "unbilledOrders") or Decimal(0)
        return CreditPosition(
            customer_id=str(record["id"]),
            limit=Money(amount=limit, currency=currency) if limit is not None else None,
            balance=Money(amount=balance, currency=currency),
            unbilled_orders=Money(amount=unbilled, currency=currency),
        )

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

    async def _create_once(self, record_type: str, external_id: str, path: str, body: dict[str, Any]) -> str:
        """Create, or take the record an earlier attempt made: NetSuite refuses a second external id.

        One round trip in the common case; a retry after a lost response costs one more.
        """
        try:
            response = await self.request("POST", path, json={**body, "externalId": external_id}, headers=STRICT)
            return self._id_from_location(response)
        except BusinessRuleError as exc:
            if exc.code == "DUP_RCRD":
                return str((await self.get(record_type, f"eid:{external_id}"))["id"])
            raise

    async def _order(self, ref: str) -> SalesOrder:
        return order_from_netsuite(await self.get("salesOrder", ref))  # the mapping checks for schema drift

    async def create_sales_order(self, order: SalesOrder) -> SalesOrder:
        order_id = await self._create_once(
            "salesOrder", order.external_id, f"{RECORDS}/salesOrder", order_to_netsuite(order)
        )
        return await self._order(order_id)

    async def records_where(self, record_type: str, query: str) -> list[dict[str, Any]]:
        """Every record a list query (`externalId START_WITH "x"`) matches, all pages, each read in full."""
        return [await self.get(record_type, record_id) for record_id in await self.list_ids(record_type, query)]

    async def get_sales_order(self, ref: str) -> SalesOrder:
        return await self._order(ref)

    async def cancel_or_close_order(self, ref: str, memo: str) -> SalesOrder:
        """Cancel an unbilled order, close a billed one; a finished one is left as it is."""
        order = await self.get_sales_order(ref)
        if order.status in (OrderStatus.CANCELLED, OrderStatus.CLOSED):
            return order
        target = "C" if order.status in (OrderStatus.PENDING_APPROVAL, OrderStatus.PENDING_FULFILLMENT) else "H"
        await self.request(
            "PATCH",
            f"{RECORDS}/salesOrder/{order.id}",
            json={"orderStatus": {"id": target}, "memo": memo},
            headers=STRICT,
        )
        return await self.get_sales_order(str(order.id))

    async def invoice_order(self, order_id: str, external_id: str, item_ids: list[str] | None = None) -> Invoice:
        """Transform the order into an invoice (only the given items, when given)."""
        body: dict[str, Any] = {}
        if item_ids is not None:
            body["item"] = {"items": [{"item": {"id": i}} for i in item_ids]}
        invoice_id = await self._create_once(
            "invoice", external_id, f"{RECORDS}/salesOrder/{order_id}/!transform/invoice", body
        )
        return await self.get_invoice(invoice_id)

    async def get_invoice(self, ref: str) -> Invoice:
        return invoice_from_netsuite(await self.get("invoice", ref))

    async def credit_invoice(self, invoice_id: str, external_id: str, memo: str) -> str:
        """Reverse a posted invoice with a credit memo; returns the memo's id."""
        return await self._create_once(
            "creditMemo", external_id, f"{RECORDS}/invoice/{invoice_id}/!transform/creditMemo", {"memo": memo}
        )
