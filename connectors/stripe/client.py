"""Stripe: form-encoded requests with bracket notation, an Idempotency-Key on every write."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx

from connectors.errors import BusinessRuleError, ConnectorError, NotFound, TransientError
from connectors.http import VendorClient
from connectors.settings import StripeSettings
from connectors.stripe.mapping import (
    _INTERVAL,
    IN_FLIGHT_WAITS,
    encode_form,
    invoice_from_stripe,
    lookup_key,
    price_from_stripe,
)
from models.catalog import BillingFrequency, Price
from models.orders import Invoice, InvoiceStatus, Subscription, SubscriptionItem, SubscriptionStatus
from models.party import Customer


class StripeClient(VendorClient):
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

    async def post(self, path: str, params: Mapping[str, Any], idempotency_key: str) -> dict[str, Any]:
        response = await self.request(
            "POST",
            path,
            content=encode_form(params),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Idempotency-Key": idempotency_key},
        )
        return dict(response.json())

    async def get(self, path: str, params: Any = None) -> dict[str, Any]:
        return dict((await self.request("GET", path, params=params)).json())

    async def ensure_customer(self, customer: Customer) -> str:
        """The billing customer for a q2c customer: one per customer, however many deals close at once.

        The key is the customer's, not the saga's, so two sagas racing for one customer make one record;
        past Stripe's 24 h key window the email lookup finds it.
        """
        email = customer.contacts[0].email if customer.contacts else None
        found = await self._find_customer(customer.id, email)
        if found:
            return found
        address = customer.billing_address
        params: dict[str, Any] = {
            "name": customer.legal_name,
            "email": email,
            "metadata": {"q2c_customer_id": customer.id},
        }
        if address:
            params["address"] = {
                "line1": address.line1,
                "line2": address.line2,
                "city": address.city,
                "postal_code": address.postal_code,
                "country": address.country,
            }
        for wait in IN_FLIGHT_WAITS:
            try:
                return str((await self.post("/v1/customers", params, f"q2c-customer-{customer.id}"))["id"])
            except TransientError as busy:  # 409: another saga's request with this key is still in flight
                if busy.code != "idempotency_key_in_use":
                    raise
                await asyncio.sleep(wait)
            except BusinessRuleError as refused:  # same key, changed details: the customer exists already
                if refused.code == "idempotency_key_in_use" and (
                    found := await self._find_customer(customer.id, email)
                ):
                    return found
                raise
        return str((await self.post("/v1/customers", params, f"q2c-customer-{customer.id}"))["id"])

    async def _find_customer(self, customer_id: str, email: str | None) -> str | None:
        if not email:
            return None
        listed = await self.get("/v1/customers", {"email": email, "limit": 100})
        for record in listed["data"]:
            if record.get("metadata", {}).get("q2c_customer_id") == customer_id:
                return str(record["id"])
        return None

    async def subscriptions_tagged(self, key: str, value: str) -> list[dict[str, Any]]:
        """Subscriptions whose metadata has key = value (Stripe's search API), raw."""
        found = await self.get("/v1/subscriptions/search", {"query": f"metadata['{key}']:'{value}'", "limit": 100})
        return list(found["data"])

    async def find_price(self, sku: str, currency: str) -> Price:
        key = lookup_key(sku, currency)
        listed = await self.get("/v1/prices", [("lookup_keys[]", key), ("active", "true")])
        if not listed["data"]:
            raise NotFound(self.system, f"no price with lookup key {key!r}", code="resource_missing", status=404)
        return price_from_stripe(listed["data"][0])

    async def create_subscription(
        self, customer_id: str, items: list[SubscriptionItem], metadata: dict[str, str], idempotency_key: str
    ) -> Subscription:
        record = await self.post(
            "/v1/subscriptions",
            {
                "customer": customer_id,
                "collection_method": "send_invoice",
                "days_until_due": self.stripe_settings.days_until_due,
                "metadata": metadata,
                "items": [{"price": item.price_id, "quantity": item.quantity} for item in items],
                "expand": ["latest_invoice"],
            },
            idempotency_key,
        )
        return await self._subscription(record)

    async def get_subscription(self, subscription_id: str) -> Subscription:
        return await self._subscription(await self.get(f"/v1/subscriptions/{subscription_id}"))

    async def _subscription(self, record: dict[str, Any]) -> Subscription:
        items = record["items"]["data"]
        latest = record.get("latest_invoice")
        if isinstance(latest, dict):  # expanded in the same response
            invoice: Invoice | None = invoice_from_stripe(latest)
        elif latest:
            try:
                invoice = await self.get_invoice(latest)
            except NotFound:  # a deleted draft
                invoice = None
        else:
            invoice = None
        interval = (items[0]["price"].get("recurring") or {}).get("interval", "") if items else ""
        return Subscription(
            id=record["id"],
            customer_id=record["customer"],
            status=SubscriptionStatus(record["status"]),
            frequency=_INTERVAL.get(interval, BillingFrequency.MONTHLY),
            items=[SubscriptionItem(price_id=i["price"]["id"], quantity=i["quantity"]) for i in items],
            latest_invoice=invoice,
            metadata=record.get("metadata") or {},
        )

    async def get_invoice(self, invoice_id: str) -> Invoice:
        return invoice_from_stripe(await self.get(f"/v1/invoices/{invoice_id}"))

    async def finalize_invoice(self, invoice_id: str, idempotency_key: str) -> Invoice:
        """Draft -> open; an invoice already finalized is returned as it is."""
        try:
            return invoice_from_stripe(await self.post(f"/v1/invoices/{invoice_id}/finalize", {}, idempotency_key))
        except BusinessRuleError as refused:
            if refused.code != "invoice_unexpected_state":
                raise
            return await self.get_invoice(invoice_id)

    async def pay_invoice(self, invoice_id: str, idempotency_key: str) -> Invoice:
        return invoice_from_stripe(await self.post(f"/v1/invoices/{invoice_id}/pay", {}, idempotency_key))

    async def cancel_subscription(self, subscription_id: str) -> Subscription:
        """Cancel now; cancelling a cancelled subscription is a no-op, not an error."""
        current = await self.get_subscription(subscription_id)
        if current.status is SubscriptionStatus.CANCELED:
            return current
        return await self._subscription((await self.request("DELETE", f"/v1/subscriptions/{subscription_id}")).json())

    async def withdraw_invoice(self, invoice_id: str, reason: str, idempotency_key: str) -> InvoiceStatus | str:
        """Void an open invoice, delete a draft, credit a paid one: whatever undoes it in Stripe's terms."""
        try:
            invoice = await self.get_invoice(invoice_id)
        except NotFound:
            return "deleted"
        if invoice.status is InvoiceStatus.DRAFT:
            await self.request("DELETE", f"/v1/invoices/{invoice_id}")
            return "deleted"
        if invoice.status is InvoiceStatus.OPEN:
            return invoice_from_stripe(await self.post(f"/v1/invoices/{invoice_id}/void", {}, idempotency_key)).status
        if invoice.status is InvoiceStatus.PAID:
            await self.post(
                "/v1/credit_notes",
                {"invoice": invoice_id, "reason": "order_change", "memo": reason[:500]},
                idempotency_key,
            )
            return "credited"
        return invoice.status
