"""Stripe for q2c's billing steps: one customer per q2c customer, prices by lookup key, subscriptions, invoices
and credit notes. The wire (forms, idempotency keys, paging) is `api`'s."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from connectors.errors import BusinessRuleError, NotFound, TransientError
from connectors.stripe import fields
from connectors.stripe.api import StripeApi
from connectors.stripe.mapping import (
    _INTERVAL,
    IN_FLIGHT_WAITS,
    invoice_from_stripe,
    lookup_key,
    price_from_stripe,
)
from models.catalog import BillingFrequency, Price
from models.money import Money
from models.orders import Invoice, InvoiceStatus, Subscription, SubscriptionItem, SubscriptionStatus
from models.party import Customer


class StripeClient(StripeApi):
    """Customers, prices, subscriptions and invoices: the operations q2c's billing steps make."""

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
        """Every customer with the email (a list read, consistent at once, unlike search), tagged with our id."""
        if not email:
            return None
        async for record in self.list_all("/v1/customers", {"email": email}):
            if (record.get("metadata") or {}).get("q2c_customer_id") == customer_id:
                return fields.required_text(record, "customer", "id")
        return None

    async def find_price(self, sku: str, currency: str) -> Price:
        key = lookup_key(sku, currency)
        found = [r async for r in self.list_all("/v1/prices", {"lookup_keys": [key], "active": True})]
        if not found:
            raise NotFound(self.system, f"no price with lookup key {key!r}", code="resource_missing", status=404)
        return price_from_stripe(found[0])

    async def create_subscription(
        self,
        customer_id: str,
        items: list[SubscriptionItem],
        metadata: dict[str, str],
        idempotency_key: str,
        anchor: int | None = None,
    ) -> Subscription:
        """With `anchor` (Unix second, a term's start after today): `billing_cycle_anchor` there and
        `proration_behavior=none`, so the time until it is free and Stripe makes no invoice now (not even 0 USD);
        the first full invoice comes on the anchor and every period after it follows the term. Stripe's own
        "start a subscription in the future" is a schedule with a future `start_date`, but that makes no
        subscription until then: nothing for the saga to undo, the contract to hold, reconciliation to find.
        Stripe refuses an anchor past the next natural billing date (one interval from now), and one already
        past: a step retried after the term began (parked for days) bills from now, as a term starting today."""
        params: dict[str, Any] = {
            "customer": customer_id,
            "collection_method": "send_invoice",
            "days_until_due": self.stripe_settings.days_until_due,
            "metadata": metadata,
            "items": [{"price": item.price_id, "quantity": item.quantity} for item in items],
            "expand": ["latest_invoice"],
        }
        if anchor is not None and anchor > time.time():
            params.update(billing_cycle_anchor=anchor, proration_behavior="none")
        return await self._subscription(await self.post("/v1/subscriptions", params, idempotency_key))

    async def get_subscription(self, subscription_id: str) -> Subscription:
        """One round trip: the latest invoice comes expanded."""
        return await self._subscription(
            await self.get(f"/v1/subscriptions/{subscription_id}", {"expand[]": "latest_invoice"})
        )

    async def list_subscriptions(self, customer_id: str, status: str = "all") -> list[Subscription]:
        records = self.list_all(
            "/v1/subscriptions", {"customer": customer_id, "status": status, "expand": ["data.latest_invoice"]}
        )
        return [await self._subscription(r) async for r in records]

    async def _subscription(self, record: dict[str, Any]) -> Subscription:
        items = fields.listed(record, "subscription", "items.data")
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
        interval = ""
        if items:
            interval = fields.required_text(items[0], "subscription_item", "price.recurring.interval")
        return Subscription(
            id=fields.required_text(record, "subscription", "id"),
            customer_id=_id_of(record, "subscription", "customer"),
            status=fields.choice(record, "subscription", "status", SubscriptionStatus),
            frequency=_INTERVAL.get(interval, BillingFrequency.MONTHLY),
            items=[
                SubscriptionItem(
                    price_id=fields.required_text(i, "subscription_item", "price.id"),
                    quantity=fields.integer(i, "subscription_item", "quantity"),
                )
                for i in items
            ],
            latest_invoice=invoice,
            metadata=record.get("metadata") or {},
        )

    async def get_invoice(self, invoice_id: str) -> Invoice:
        return invoice_from_stripe(await self.get(f"/v1/invoices/{invoice_id}"))

    async def list_invoices(
        self, customer_id: str | None = None, subscription_id: str | None = None, status: str | None = None
    ) -> list[Invoice]:
        filters = {"customer": customer_id, "subscription": subscription_id, "status": status}
        return [invoice_from_stripe(r) async for r in self.list_all("/v1/invoices", filters)]

    async def amount_due(self, invoice_id: str) -> Money:
        """What the customer still owes on an invoice, after payments and credit notes."""
        return fields.money(await self.get(f"/v1/invoices/{invoice_id}"), "invoice", "amount_remaining")

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

    async def credit_invoice(self, invoice_id: str, amount: Money, reason: str, idempotency_key: str) -> Money:
        """A credit note for part of an invoice; on a paid invoice it is credited outside Stripe (no refund)."""
        invoice = await self.get(f"/v1/invoices/{invoice_id}")
        if fields.currency(invoice, "invoice") != amount.currency:
            raise BusinessRuleError(self.system, f"credit in {amount.currency} on a {invoice['currency']} invoice")
        try:
            minor = fields.minor_units(amount)
        except ValueError as fraction:  # half a yen cannot be credited: refused before anything is sent
            raise BusinessRuleError(self.system, str(fraction), code="amount_precision") from None
        params: dict[str, Any] = {
            "invoice": invoice_id,
            "amount": minor,
            "reason": "order_change",
            "memo": reason[:500],
        }
        if fields.text(invoice, "invoice", "status") == "paid":
            params["out_of_band_amount"] = minor
        note = await self.post("/v1/credit_notes", params, idempotency_key)
        return fields.money(note, "credit_note", "amount")

    async def cancel_subscription(self, subscription_id: str) -> Subscription:
        """Cancel now; cancelling a cancelled subscription is a no-op, not an error."""
        current = await self.get_subscription(subscription_id)
        if current.status is SubscriptionStatus.CANCELED:
            return current
        response = await self.request(
            "DELETE", f"/v1/subscriptions/{subscription_id}", params={"expand[]": "latest_invoice"}
        )
        return await self._subscription(self._json(response, "subscription"))

    async def withdraw_invoice(self, invoice_id: str, reason: str, idempotency_key: str) -> InvoiceStatus | str:
        """Undo an invoice in Stripe's terms: delete a one-off draft, void an open invoice (a subscription's
        draft is finalized first: Stripe refuses to delete it), credit a paid one in full."""
        try:
            record = await self.get(f"/v1/invoices/{invoice_id}")
        except NotFound:
            return "deleted"
        status = fields.choice(record, "invoice", "status", InvoiceStatus)
        if status is InvoiceStatus.DRAFT and not record.get("subscription"):
            await self.request("DELETE", f"/v1/invoices/{invoice_id}")
            return "deleted"
        if status is InvoiceStatus.DRAFT:
            status = (await self.finalize_invoice(invoice_id, f"{idempotency_key}:finalize")).status
        if status is InvoiceStatus.OPEN:
            return invoice_from_stripe(await self.post(f"/v1/invoices/{invoice_id}/void", {}, idempotency_key)).status
        if status is InvoiceStatus.PAID:
            paid = fields.integer(record, "invoice", "amount_paid") or 0
            credited = fields.integer(record, "invoice", "post_payment_credit_notes_amount") or 0
            if paid - credited > 0:
                credit = paid - credited
                params: dict[str, Any] = {"invoice": invoice_id, "reason": "order_change", "memo": reason[:500]}
                await self.post(
                    "/v1/credit_notes", {**params, "amount": credit, "out_of_band_amount": credit}, idempotency_key
                )
            return "credited"
        return status


def _id_of(record: Mapping[str, Any], obj: str, field: str) -> str:
    """An expandable field: an id, or the object when expanded."""
    if isinstance(record.get(field), Mapping):
        return fields.required_text(record, obj, f"{field}.id")
    return fields.required_text(record, obj, field)
