"""NetSuite REST records: eid: upserts, create-if-absent by external id, transforms, 204 + Location."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from connectors.errors import BusinessRuleError, NotFound
from connectors.http import VendorClient
from connectors.settings import NetSuiteSettings
from models.common import Region
from models.money import Money
from models.orders import Invoice, InvoiceStatus, OrderLine, OrderStatus, SalesOrder
from models.party import CreditPosition, Customer

RECORDS = "/services/rest/record/v1"
SUBSIDIARY_BY_REGION = {Region.NA: "1", Region.EMEA: "2", Region.UK: "3"}
_ORDER_STATUS = {
    "A": OrderStatus.PENDING_APPROVAL,
    "B": OrderStatus.PENDING_FULFILLMENT,
    "F": OrderStatus.PENDING_FULFILLMENT,
    "G": OrderStatus.BILLED,
    "C": OrderStatus.CANCELLED,
    "H": OrderStatus.CLOSED,
}
_INVOICE_STATUS = {"A": InvoiceStatus.OPEN, "B": InvoiceStatus.PAID, "V": InvoiceStatus.VOID}


def customer_to_netsuite(customer: Customer) -> dict[str, Any]:
    address = customer.billing_address
    body: dict[str, Any] = {
        "companyName": customer.legal_name,
        "currency": {"refName": customer.currency},
        "subsidiary": {"id": SUBSIDIARY_BY_REGION[customer.region]},
        "defaultTaxReg": customer.tax_registration.number if customer.tax_registration else None,
    }
    if address:
        body["defaultAddress"] = "\n".join(
            p for p in (address.line1, address.line2, address.city, address.postal_code, address.country) if p
        )
    return body


def order_to_netsuite(order: SalesOrder) -> dict[str, Any]:
    return {
        "entity": {"id": order.customer_id},
        "externalId": order.external_id,
        "tranDate": order.order_date.isoformat(),
        "currency": {"refName": order.currency},
        "item": {
            "items": [
                {
                    "item": {"id": line.item_id} if line.item_id else {"externalId": line.sku},
                    "quantity": str(line.quantity),
                    "rate": str(line.rate.amount),
                }
                for line in order.lines
            ]
        },
    }


def order_from_netsuite(record: dict[str, Any]) -> SalesOrder:
    currency = record["currency"]["refName"]
    return SalesOrder(
        id=record["id"],
        number=record.get("tranId"),
        external_id=record.get("externalId") or "",
        customer_id=record["entity"]["id"],
        order_date=date.fromisoformat(record["tranDate"]),
        currency=currency,
        lines=[
            OrderLine(
                sku=line["item"]["refName"],
                item_id=line["item"]["id"],
                quantity=Decimal(str(line["quantity"])),
                rate=Money(amount=Decimal(line["rate"]), currency=currency),
            )
            for line in record["item"]["items"]
        ],
        status=_ORDER_STATUS[record["orderStatus"]["id"]],
        total=Money(amount=Decimal(record["total"]), currency=currency),
    )


def invoice_from_netsuite(record: dict[str, Any]) -> Invoice:
    return Invoice(
        id=record["id"],
        system="erp",
        number=record.get("tranId"),
        external_id=record.get("externalId"),
        status=_INVOICE_STATUS.get(record["status"]["id"], InvoiceStatus.OPEN),
        total=Money(amount=Decimal(record["total"]), currency=record["currency"]["refName"]),
    )


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
