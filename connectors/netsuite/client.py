"""NetSuite REST records: eid: upserts, create-if-absent by external id, transforms, 204 + Location."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from connectors.errors import BusinessRuleError, NotFound
from connectors.http import VendorClient
from connectors.netsuite.mapping import (
    RECORDS,
    customer_to_netsuite,
    invoice_from_netsuite,
    order_from_netsuite,
    order_to_netsuite,
)
from connectors.settings import NetSuiteSettings
from models.money import Money
from models.orders import Invoice, OrderStatus, SalesOrder
from models.party import CreditPosition, Customer


class NetSuiteClient(VendorClient):
    system = "netsuite"

    def __init__(
        self, settings: NetSuiteSettings | None = None, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(settings or NetSuiteSettings(), transport)

    def vendor_error(self, response: httpx.Response) -> tuple[str | None, str]:
        body = self.body(response) or {}
        details = body.get("o:errorDetails") or [{}]
        path = details[0].get("o:errorPath")
        message = details[0].get("detail") or body.get("title") or response.text[:300]
        code = details[0].get("o:errorCode")
        if code == "USER_ERROR" and path == "entity.defaultTaxReg":
            code = "MISSING_TAX_REGISTRATION"  # a person can fix it in the ERP; the saga parks for them
        return code, message + (f" (at {path})" if path else "")

    @staticmethod
    def _id_from_location(response: httpx.Response) -> str:
        location = response.headers.get("location")
        if not location:
            raise BusinessRuleError("netsuite", "a create answered without a Location header", code="NO_LOCATION")
        return location.rstrip("/").rsplit("/", 1)[-1]

    async def get(self, record_type: str, ref: str) -> dict[str, Any]:
        return dict((await self.request("GET", f"{RECORDS}/{record_type}/{ref}")).json())

    async def find(self, record_type: str, ref: str) -> dict[str, Any] | None:
        try:
            return await self.get(record_type, ref)
        except NotFound:
            return None

    async def upsert_customer(self, customer: Customer) -> str:
        """PUT customer/eid:<q2c customer id>: the same customer never appears twice. Returns the internal id."""
        response = await self.request(
            "PUT", f"{RECORDS}/customer/eid:{customer.id}", json=customer_to_netsuite(customer)
        )
        return self._id_from_location(response)

    async def update_customer(self, external_id: str, fields: dict[str, Any]) -> None:
        """PATCH a few fields of the customer with this external id (204)."""
        await self.request("PATCH", f"{RECORDS}/customer/eid:{external_id}", json=fields)

    async def credit_position(self, customer_ref: str) -> CreditPosition:
        record = await self.get("customer", customer_ref)
        currency = record["currency"]["refName"]
        limit = record.get("creditLimit")
        return CreditPosition(
            customer_id=record["id"],
            limit=Money(amount=Decimal(str(limit)), currency=currency) if limit is not None else None,
            balance=Money(amount=Decimal(str(record.get("balance") or 0)), currency=currency),
            unbilled_orders=Money(amount=Decimal(str(record.get("unbilledOrders") or 0)), currency=currency),
        )

    async def resolve_items(self, skus: list[str]) -> dict[str, str]:
        """SKU -> ERP item id; an unknown SKU is a business error naming it."""
        return (await self.resolve_catalog(skus))[0]

    async def resolve_catalog(self, skus: list[str]) -> tuple[dict[str, str], dict[str, str]]:
        """(SKU -> item id, SKU -> support tier it entitles) for active ERP items."""
        ids, tiers = {}, {}
        for sku in dict.fromkeys(skus):
            item = await self.find("nonInventorySaleItem", f"eid:{sku}")
            if item is None or item.get("isInactive"):
                raise BusinessRuleError(self.system, f"product {sku!r} has no active ERP item", code="UNKNOWN_PRODUCT")
            ids[sku] = str(item["id"])
            if item.get("custitem_q2c_service_tier"):
                tiers[sku] = str(item["custitem_q2c_service_tier"])
        return ids, tiers

    async def _create_once(self, record_type: str, external_id: str, path: str, body: dict[str, Any]) -> str:
        """Create, or take the record an earlier attempt made: NetSuite refuses a second external id.

        One round trip in the common case; a retry after a lost response costs one more.
        """
        try:
            return self._id_from_location(await self.request("POST", path, json={**body, "externalId": external_id}))
        except BusinessRuleError as exc:
            if exc.code == "DUP_RCRD":
                return str((await self.get(record_type, f"eid:{external_id}"))["id"])
            raise

    async def create_sales_order(self, order: SalesOrder) -> SalesOrder:
        order_id = await self._create_once(
            "salesOrder", order.external_id, f"{RECORDS}/salesOrder", order_to_netsuite(order)
        )
        return order_from_netsuite(await self.get("salesOrder", order_id))

    async def records_where(self, record_type: str, query: str) -> list[dict[str, Any]]:
        """Every record a list query (`externalId START_WITH "x"`) matches, read in full."""
        listed = (await self.request("GET", f"{RECORDS}/{record_type}", params={"q": query, "limit": 1000})).json()
        return [await self.get(record_type, str(item["id"])) for item in listed["items"]]

    async def get_sales_order(self, ref: str) -> SalesOrder:
        return order_from_netsuite(await self.get("salesOrder", ref))

    async def cancel_or_close_order(self, ref: str, memo: str) -> SalesOrder:
        """Cancel an unbilled order, close a billed one; a finished one is left as it is."""
        order = await self.get_sales_order(ref)
        if order.status in (OrderStatus.CANCELLED, OrderStatus.CLOSED):
            return order
        target = "C" if order.status in (OrderStatus.PENDING_APPROVAL, OrderStatus.PENDING_FULFILLMENT) else "H"
        await self.request(
            "PATCH", f"{RECORDS}/salesOrder/{order.id}", json={"orderStatus": {"id": target}, "memo": memo}
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
        return invoice_from_netsuite(await self.get("invoice", invoice_id))

    async def get_invoice(self, ref: str) -> Invoice:
        return invoice_from_netsuite(await self.get("invoice", ref))

    async def credit_invoice(self, invoice_id: str, external_id: str, memo: str) -> str:
        """Reverse a posted invoice with a credit memo; returns the memo's id."""
        return await self._create_once(
            "creditMemo", external_id, f"{RECORDS}/invoice/{invoice_id}/!transform/creditMemo", {"memo": memo}
        )
