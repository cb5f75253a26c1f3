"""NetSuite REST records: eid: upserts, create-if-absent by external id, transforms, 204 + Location.

Reads ask for sublists (`expandSubResources=true`) and parse amounts as exact Decimals (`queries`, with the
SuiteQL reads). Writes ask NetSuite to refuse a field it does not know rather than drop it silently, and
name a currency by its internal id.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from connectors.errors import BusinessRuleError, ConnectorError, NotFound
from connectors.netsuite import fields
from connectors.netsuite.auth import netsuite_auth
from connectors.netsuite.mapping import (
    RECORDS,
    customer_to_netsuite,
    invoice_from_netsuite,
    order_from_netsuite,
    order_to_netsuite,
    return_order_from_netsuite,
)
from connectors.netsuite.queries import NetSuiteQueries
from connectors.netsuite.suiteql import refused_column
from connectors.settings import NetSuiteSettings
from models.money import Money
from models.orders import Invoice, ReturnOrder, SalesOrder
from models.party import CreditPosition, Customer

STRICT = {"X-NetSuite-PropertyNameValidation": "Error"}
CANCELLABLE, ENDED, REFUNDED = {"A", "B"}, {"C", "H"}, "G"  # orderStatus letters of orders and returns alike


class NetSuiteClient(NetSuiteQueries):
    system = "netsuite"

    def __init__(
        self, settings: NetSuiteSettings | None = None, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        settings = settings or NetSuiteSettings()
        super().__init__(settings, transport)
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

    async def upsert_customer(self, customer: Customer) -> str:
        """PUT customer/eid:<q2c customer id>: the same customer never appears twice. Returns the internal id."""
        body = customer_to_netsuite(customer, await self.currencies(codes=[customer.currency]))
        response = await self.request("PUT", f"{RECORDS}/customer/eid:{customer.id}", json=body, headers=STRICT)
        return self._id_from_location(response)

    async def update_customer(self, external_id: str, fields: dict[str, Any]) -> None:
        """PATCH a few fields of the customer with this external id (204)."""
        await self.request("PATCH", f"{RECORDS}/customer/eid:{external_id}", json=fields, headers=STRICT)

    async def credit_position(self, customer_ref: str) -> CreditPosition:
        record = fields.check("customer", await self.get("customer", customer_ref))
        currency = (await self.currencies(ids=[record["currency"]["id"]])).code(record["currency"], "customer")
        limit = fields.amount("customer", record, "creditLimit")
        balance = fields.amount("customer", record, "balance") or Decimal(0)
        unbilled = fields.amount("customer", record, "unbilledOrders") or Decimal(0)
        return CreditPosition(
            customer_id=str(record["id"]),
            limit=Money(amount=limit, currency=currency) if limit is not None else None,
            balance=Money(amount=balance, currency=currency),
            unbilled_orders=Money(amount=unbilled, currency=currency),
        )

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

    async def order_from(self, record: dict[str, Any]) -> SalesOrder:
        """A sales order read by any route (record GET or list query), mapped with the account's currencies
        (the mapping checks the record for drift, a missing currency included)."""
        return order_from_netsuite(record, await self.currencies(ids=_currency_of(record)))

    async def invoice_from(self, record: dict[str, Any]) -> Invoice:
        return invoice_from_netsuite(record, await self.currencies(ids=_currency_of(record)))

    async def _order(self, ref: str) -> SalesOrder:
        return await self.order_from(await self.get("salesOrder", ref))

    async def create_sales_order(self, order: SalesOrder) -> SalesOrder:
        body = order_to_netsuite(order, await self.currencies(codes=[order.currency]))
        order_id = await self._create_once("salesOrder", order.external_id, f"{RECORDS}/salesOrder", body)
        return await self._order(order_id)

    async def create_return_order(self, order: ReturnOrder) -> ReturnOrder:
        """POST returnAuthorization: a return of its own (not created from a sale), once per external id."""
        body = order_to_netsuite(order, await self.currencies(codes=[order.currency]))
        return_id = await self._create_once(
            "returnAuthorization", order.external_id, f"{RECORDS}/returnAuthorization", body
        )
        return await self.get_return_order(return_id)

    async def get_return_order(self, ref: str) -> ReturnOrder:
        return await self.return_from(await self.get("returnAuthorization", ref))

    async def return_from(self, record: dict[str, Any]) -> ReturnOrder:
        return return_order_from_netsuite(record, await self.currencies(ids=_currency_of(record)))

    async def cancel_return_order(self, ref: str, memo: str) -> ReturnOrder:
        """Cancel a return nothing was received or refunded for, close one in progress; a finished one is left as
        it is, and one refunded (G) is refused: the money went back, which only a person can undo."""
        record = await self.get("returnAuthorization", ref)
        if await self._end("returnAuthorization", record, memo):
            return await self.get_return_order(str(record["id"]))
        return await self.return_from(record)

    async def records_where(self, record_type: str, query: str) -> list[dict[str, Any]]:
        """Every record a list query (`externalId START_WITH "x"`) matches, all pages, each read in full."""
        return [await self.get(record_type, record_id) for record_id in await self.list_ids(record_type, query)]

    async def get_sales_order(self, ref: str) -> SalesOrder:
        return await self._order(ref)

    async def cancel_or_close_order(self, ref: str, memo: str) -> SalesOrder:
        """Cancel an order nothing was fulfilled or billed for, close one in progress or billed; a finished one is
        left as it is."""
        record = await self.get("salesOrder", ref)
        if await self._end("salesOrder", record, memo):
            return await self.get_sales_order(str(record["id"]))
        return await self.order_from(record)

    async def _end(self, record_type: str, record: dict[str, Any], memo: str) -> bool:
        """An order's or a return's `orderStatus` letter says how it ends: cancelled (C) from Pending Approval or
        Pending Fulfillment / Receipt (A, B), closed (H) past that; False when it had ended (C, H)."""
        letter = str(fields.check(record_type, record)["orderStatus"]["id"])
        if letter in ENDED:
            return False
        if record_type == "returnAuthorization" and letter == REFUNDED:
            raise BusinessRuleError(
                self.system,
                f"return {record.get('tranId')} was refunded; undo the refund first",
                code="RETURN_REFUNDED",
            )
        body = {"orderStatus": {"id": "C" if letter in CANCELLABLE else "H"}, "memo": memo}
        await self.request("PATCH", f"{RECORDS}/{record_type}/{record['id']}", json=body, headers=STRICT)
        return True

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
        return await self.invoice_from(await self.get("invoice", ref))

    async def credit_invoice(self, invoice_id: str, external_id: str, memo: str) -> str:
        """Reverse a posted invoice with a credit memo; returns the memo's id."""
        return await self._create_once(
            "creditMemo", external_id, f"{RECORDS}/invoice/{invoice_id}/!transform/creditMemo", {"memo": memo}
        )


def _currency_of(record: dict[str, Any]) -> list[str]:
    """The currency id a record names, if it names one: the mapping reports a record without one as drift."""
    reference = record.get("currency")
    return [str(reference["id"])] if isinstance(reference, dict) and "id" in reference else []
