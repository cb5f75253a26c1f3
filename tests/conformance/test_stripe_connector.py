"""q2c's Stripe connector against the simulator: every list read pages to the end, amounts are exact by the
currency's exponent, a field q2c needs that is missing or retyped is SchemaDrift naming the field."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.errors import BusinessRuleError, ProtocolError, SchemaDrift
from connectors.settings import StripeSettings
from connectors.stripe.client import StripeClient
from models.money import Money
from models.orders import InvoiceStatus, SubscriptionItem
from models.party import Contact, Customer
from simulators.app import create_app
from simulators.context import SimulatorSettings
from simulators.server import BackgroundServer, free_port
from simulators.store import Store

Mutate = Callable[[str, dict[str, Any]], dict[str, Any]]


class Wire(httpx.AsyncHTTPTransport):
    """Counts requests by path and can rewrite a response body, as a vendor's schema change would."""

    def __init__(self, mutate: Mutate | None = None) -> None:
        super().__init__()
        self.mutate, self.paths = mutate, list[str]()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(f"{request.method} {request.url.path.removeprefix('/stripe')}")
        response = await super().handle_async_request(request)
        if self.mutate is None:
            return response
        body = json.loads(await response.aread())
        changed = json.dumps(self.mutate(request.url.path.removeprefix("/stripe"), body)).encode()
        headers = [
            (k, v) for k, v in response.headers.items() if k.lower() not in ("content-length", "content-encoding")
        ]
        return httpx.Response(response.status_code, headers=headers, content=changed, request=request)


@pytest.fixture(scope="module")
def stripe_sim() -> Iterator[Any]:
    port = free_port()
    app = create_app(SimulatorSettings(port=port), Store())
    with BackgroundServer(app, port=port) as server:
        app.state.url = server.url
        yield app


@pytest.fixture
def st(stripe_sim: Any) -> Any:
    """The simulator's own state, to seed many records without many requests."""
    return stripe_sim.state.apps["stripe"].state.stripe


@pytest.fixture
def wire() -> Wire:
    return Wire()


@pytest.fixture
async def billing(stripe_sim: Any, wire: Wire) -> AsyncIterator[StripeClient]:
    async with StripeClient(StripeSettings(base_url=f"{stripe_sim.state.url}/stripe"), transport=wire) as client:
        yield client


def customer(key: str, email: str) -> Customer:
    contact = Contact(first_name="Ada", last_name="L", email=email)
    return Customer(id=key, legal_name=f"Customer {key}", currency="USD", region="na", contacts=[contact])


def price(st: Any, currency: str, unit_amount: int, interval: str = "month") -> dict[str, Any]:
    product = st.new("product", {"name": f"plan {uuid.uuid4().hex[:6]}"})
    key = f"{uuid.uuid4().hex[:8]}:{currency}"
    recurring = {"interval": interval, "interval_count": 1}
    fields = {"product": product["id"], "currency": currency, "unit_amount": unit_amount, "lookup_key": key}
    return dict(st.new("price", {**fields, "recurring": recurring, "type": "recurring"}))


# https://docs.stripe.com/api/pagination
async def test_the_customer_lookup_pages_to_the_last_page(billing: StripeClient, st: Any, wire: Wire) -> None:
    email = f"{uuid.uuid4().hex[:8]}@pages.example"
    ours = st.new("customer", {"email": email, "metadata": {"q2c_customer_id": "paged-1"}})  # the oldest
    for index in range(230):
        st.new("customer", {"email": email, "name": f"namesake {index}"})
    assert await billing.ensure_customer(customer("paged-1", email)) == ours["id"]
    assert wire.paths.count("GET /v1/customers") == 3  # 100 + 100 + 31, newest first
    assert not [p for p in wire.paths if p.startswith("POST")]


# https://docs.stripe.com/search#pagination
async def test_tagged_subscriptions_follow_next_page(billing: StripeClient, st: Any, wire: Wire) -> None:
    tag, made = uuid.uuid4().hex, set()
    empty = {"object": "list", "data": [], "has_more": False, "url": "/v1/subscription_items"}
    for _ in range(130):
        made.add(
            st.new("subscription", {"customer": "cus_x", "items": empty, "metadata": {"q2c_workflow_id": tag}})["id"]
        )
    found = await billing.subscriptions_tagged("q2c_workflow_id", tag)
    assert {s["id"] for s in found} == made and len(found) == 130
    assert wire.paths.count("GET /v1/subscriptions/search") == 2


async def test_a_tag_with_quotes_and_backslashes_is_searched_verbatim(billing: StripeClient, st: Any) -> None:
    empty = {"object": "list", "data": [], "has_more": False, "url": "/v1/subscription_items"}
    tricky = f"o'brien\\{uuid.uuid4().hex[:6]}"
    made = st.new("subscription", {"customer": "cus_x", "items": empty, "metadata": {"q2c_deal_id": tricky}})
    st.new("subscription", {"customer": "cus_x", "items": empty, "metadata": {"q2c_deal_id": "o'brien"}})
    assert [s["id"] for s in await billing.subscriptions_tagged("q2c_deal_id", tricky)] == [made["id"]]


async def test_invoice_and_subscription_lists_page(billing: StripeClient, st: Any) -> None:
    owner = st.new("customer", {"name": "Many invoices"})
    for index in range(105):
        st.new("invoice", {"customer": owner["id"], "currency": "eur", "total": 1000 + index, "amount_due": 0})
    invoices = await billing.list_invoices(customer_id=owner["id"])
    assert len(invoices) == 105
    assert sum((i.total for i in invoices), Money.zero("EUR")) == Money(amount=Decimal("1104.60"), currency="EUR")
    monthly = price(st, "usd", 4900)
    for _ in range(3):
        await billing.create_subscription(
            owner["id"], [SubscriptionItem(price_id=monthly["id"], quantity=2)], {}, uuid.uuid4().hex
        )
    subscriptions = await billing.list_subscriptions(owner["id"])
    assert len(subscriptions) == 3 and all(
        s.latest_invoice and s.latest_invoice.total.amount == Decimal("98.00") for s in subscriptions
    )


# https://docs.stripe.com/currencies#zero-decimal
@pytest.mark.parametrize(
    ("currency", "minor", "exact"), [("usd", 1999, "19.99"), ("jpy", 5000, "5000"), ("eur", 1, "0.01")]
)
async def test_prices_are_exact_by_the_currencys_exponent(
    billing: StripeClient, st: Any, currency: str, minor: int, exact: str
) -> None:
    made = price(st, currency, minor)
    found = await billing.find_price(made["lookup_key"].rsplit(":", 1)[0], currency.upper())
    assert found.unit_amount == Money(amount=Decimal(exact), currency=currency.upper()) and found.id == made["id"]
    assert str(found.unit_amount.amount) == exact  # no float on the way: not 19.990000000000002


# https://docs.stripe.com/api/credit_notes/create
async def test_credits_lower_the_amount_due_exactly(billing: StripeClient, st: Any) -> None:
    owner = st.new("customer", {"name": "Credited"})
    for currency, unit, credit, left in (("EUR", 10000, "12.34", "187.66"), ("JPY", 5000, "500", "9500")):
        plan = price(st, currency.lower(), unit)
        sub = await billing.create_subscription(
            owner["id"], [SubscriptionItem(price_id=plan["id"], quantity=2)], {}, uuid.uuid4().hex
        )
        assert sub.latest_invoice is not None
        invoice = await billing.finalize_invoice(sub.latest_invoice.id, uuid.uuid4().hex)
        credited = await billing.credit_invoice(
            invoice.id, Money(amount=Decimal(credit), currency=currency), "goodwill", uuid.uuid4().hex
        )
        assert credited == Money(amount=Decimal(credit), currency=currency)
        assert await billing.amount_due(invoice.id) == Money(amount=Decimal(left), currency=currency)
        with pytest.raises(BusinessRuleError):  # Stripe refuses a credit past what is still due
            await billing.credit_invoice(
                invoice.id, Money(amount=Decimal(left) + 1, currency=currency), "too much", uuid.uuid4().hex
            )
    with pytest.raises(BusinessRuleError, match="decimals"):
        await billing.credit_invoice(
            invoice.id, Money(amount=Decimal("0.5"), currency="JPY"), "half a yen", uuid.uuid4().hex
        )


# https://docs.stripe.com/api/invoices/delete, https://docs.stripe.com/api/credit_notes/create
async def test_withdrawing_an_invoice_in_stripes_terms(billing: StripeClient, st: Any) -> None:
    owner = st.new("customer", {"name": "Withdrawn"})
    plan = price(st, "usd", 2500)
    items = [SubscriptionItem(price_id=plan["id"], quantity=1)]
    draft = (await billing.create_subscription(owner["id"], items, {}, uuid.uuid4().hex)).latest_invoice
    assert draft is not None and await billing.withdraw_invoice(draft.id, "x", uuid.uuid4().hex) is InvoiceStatus.VOID
    one_off = st.new("invoice", {"customer": owner["id"], "currency": "usd", "total": 700})
    assert await billing.withdraw_invoice(one_off["id"], "x", uuid.uuid4().hex) == "deleted"
    paid = (await billing.create_subscription(owner["id"], items, {}, uuid.uuid4().hex)).latest_invoice
    assert paid is not None
    await billing.finalize_invoice(paid.id, uuid.uuid4().hex)
    await billing.pay_invoice(paid.id, uuid.uuid4().hex)
    assert await billing.withdraw_invoice(paid.id, "refund outside Stripe", uuid.uuid4().hex) == "credited"
    notes = [n for n in st.live("credit_note") if n["invoice"] == paid.id]
    assert [(n["amount"], n["out_of_band_amount"], n["type"]) for n in notes] == [(2500, 2500, "post_payment")]


# https://docs.stripe.com/expand
async def test_a_subscription_read_or_cancel_takes_no_extra_invoice_read(
    billing: StripeClient, st: Any, wire: Wire
) -> None:
    owner = st.new("customer", {"name": "One trip"})
    made = await billing.create_subscription(
        owner["id"], [SubscriptionItem(price_id=price(st, "usd", 100)["id"], quantity=1)], {}, uuid.uuid4().hex
    )
    wire.paths.clear()
    read = await billing.get_subscription(made.id)
    assert made.latest_invoice is not None and read.latest_invoice == made.latest_invoice
    assert wire.paths == [f"GET /v1/subscriptions/{made.id}"]
    wire.paths.clear()
    cancelled = await billing.cancel_subscription(made.id)  # read, then cancel with the invoice expanded
    assert cancelled.status == "canceled" and cancelled.latest_invoice == made.latest_invoice
    assert wire.paths == [f"GET /v1/subscriptions/{made.id}", f"DELETE /v1/subscriptions/{made.id}"]


def _on(kind: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Mutate:
    """Apply `change` to every `kind` object in a body, expanded ones included."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            value = {k: walk(v) for k, v in value.items()}
            return change(value) if value.get("object") == kind else value
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return lambda _path, body: dict(walk(body))


_retype_total = _on("invoice", lambda o: {**o, "total": "36.00"})
_rename_status = _on("invoice", lambda o: {("state" if k == "status" else k): v for k, v in o.items()})
_float_amount = _on("invoice", lambda o: {**o, "total": 3600.5})
_unknown_status = _on("subscription", lambda o: {**o, "status": "paused_forever"})
_added_fields = _on("subscription", lambda o: {**o, "brand_new_field": {"nested": [1, 2]}, "another": None})


@pytest.mark.parametrize(
    ("mutate", "obj", "field", "problem"),
    [
        (_retype_total, "invoice", "total", "expected an integer, got str"),
        (_rename_status, "invoice", "status", "missing"),
        (_float_amount, "invoice", "total", "expected an integer, got Decimal"),
        (_unknown_status, "subscription", "status", "unexpected value 'paused_forever'"),
    ],
)
async def test_a_renamed_or_retyped_field_is_schema_drift(
    stripe_sim: Any, st: Any, mutate: Mutate, obj: str, field: str, problem: str
) -> None:
    owner = st.new("customer", {"name": "Drift"})
    plan = price(st, "usd", 1800)
    settings = StripeSettings(base_url=f"{stripe_sim.state.url}/stripe")
    async with StripeClient(settings) as plain:
        made = await plain.create_subscription(
            owner["id"], [SubscriptionItem(price_id=plan["id"], quantity=2)], {}, uuid.uuid4().hex
        )
    async with StripeClient(settings, transport=Wire(mutate)) as drifted:
        with pytest.raises(SchemaDrift) as drift:
            await drifted.get_subscription(made.id)
    assert (drift.value.system, drift.value.object, drift.value.field) == ("stripe", obj, field)
    assert problem in drift.value.problem and drift.value.retryable is False


async def test_fields_stripe_adds_change_nothing(stripe_sim: Any, st: Any) -> None:
    owner = st.new("customer", {"name": "Additive"})
    plan = price(st, "gbp", 1234)
    settings = StripeSettings(base_url=f"{stripe_sim.state.url}/stripe")
    async with StripeClient(settings) as plain, StripeClient(settings, transport=Wire(_added_fields)) as added:
        made = await plain.create_subscription(
            owner["id"], [SubscriptionItem(price_id=plan["id"], quantity=1)], {}, uuid.uuid4().hex
        )
        assert await added.get_subscription(made.id) == await plain.get_subscription(made.id)


class ProxyPage(httpx.AsyncBaseTransport):
    """A proxy in the way answers 200 with its own HTML page."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Type": "text/html"}, content=b"<html>gateway</html>")


async def test_a_body_that_is_not_json_is_a_protocol_error_not_drift(stripe_sim: Any) -> None:
    settings = StripeSettings(base_url=f"{stripe_sim.state.url}/stripe")
    async with StripeClient(settings, transport=ProxyPage()) as proxied:
        with pytest.raises(ProtocolError) as broken:
            await proxied.get_invoice("in_any")
    assert broken.value.retryable is True and "not JSON" in broken.value.problem
