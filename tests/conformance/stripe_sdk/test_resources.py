"""Stripe's resources through its own Python SDK: customers, paging, search, expansion, subscriptions, invoices,
credit notes, currencies. Every response is checked against Stripe's spec (fixtures in fixtures.py);
doc URLs are beside each test; docs/conformance/stripe.md has the table.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import stripe

from tests.conformance.stripe_sdk.fixtures import Recorder, StripeSim, sdk, subscribe


# https://docs.stripe.com/api/customers
def test_customer_create_retrieve_update_delete(client: Any) -> None:
    made = client.v1.customers.create({"name": "Ada Ltd", "email": "ada@sdk.example", "metadata": {"a": "1", "b": "2"}})
    assert made.id.startswith("cus_") and made.object == "customer" and made.metadata.to_dict() == {"a": "1", "b": "2"}
    updated = client.v1.customers.update(made.id, {"name": "Ada Limited", "metadata": {"a": ""}})
    assert updated.name == "Ada Limited" and updated.metadata.to_dict() == {"b": "2"}  # "" unsets a key
    assert client.v1.customers.retrieve(made.id).name == "Ada Limited"
    assert client.v1.customers.delete(made.id).deleted is True
    assert client.v1.customers.retrieve(made.id).deleted is True  # a deleted customer still answers, as deleted
    assert made.id not in [c.id for c in client.v1.customers.list({"email": "ada@sdk.example"}).data]
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.customers.retrieve("cus_never_made")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"


# https://docs.stripe.com/api/pagination
def test_auto_paging_walks_every_page_newest_first(client: Any, recorder: Recorder) -> None:
    email = f"{uuid.uuid4().hex[:8]}@paging.example"
    made = [client.v1.customers.create({"name": f"P{i}", "email": email}).id for i in range(23)]
    before = len(recorder.seen)
    first = client.v1.customers.list({"email": email, "limit": 5})
    walked = [c.id for c in first.auto_paging_iter()]
    assert walked == list(reversed(made))  # every one, once, newest first
    assert len(recorder.seen) - before == 5  # 5 + 5 + 5 + 5 + 3
    assert first.url == "/v1/customers" and first.has_more is True


# https://docs.stripe.com/api/pagination (ending_before)
def test_ending_before_pages_backwards(client: Any) -> None:
    email = f"{uuid.uuid4().hex[:8]}@back.example"
    made = [client.v1.customers.create({"name": f"B{i}", "email": email}).id for i in range(7)]
    page = client.v1.customers.list({"email": email, "limit": 3, "ending_before": made[2]})
    assert [c.id for c in page.data] == [made[5], made[4], made[3]] and page.has_more is True
    walked = [
        c.id
        for c in client.v1.customers.list({"email": email, "limit": 2, "ending_before": made[0]}).auto_paging_iter()
    ]
    assert walked == made[1:]  # the SDK walks backwards, oldest of the newer first


@pytest.mark.parametrize("limit", [0, 101])
def test_limit_outside_1_to_100_is_refused(client: Any, limit: int) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.customers.list({"limit": limit})
    assert refused.value.param == "limit"


def test_unknown_cursor_is_refused(client: Any) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.customers.list({"starting_after": "cus_nope"})
    assert refused.value.param == "starting_after" and refused.value.code == "resource_missing"


# https://docs.stripe.com/search
def test_search_pages_with_next_page(client: Any) -> None:
    tag = uuid.uuid4().hex[:10]
    made = {client.v1.customers.create({"name": f"S{i}", "metadata": {"tag": tag}}).id for i in range(5)}
    client.v1.customers.create({"name": "other", "metadata": {"tag": "else"}})
    first = client.v1.customers.search({"query": f"metadata['tag']:'{tag}'", "limit": 2})
    assert first.object == "search_result" and first.has_more is True and first.next_page
    assert {c.id for c in first.auto_paging_iter()} == made
    named = client.v1.customers.search({"query": f"name:'S3' AND metadata['tag']:'{tag}'"})
    assert [c.name for c in named.data] == ["S3"] and named.next_page is None


def test_search_refuses_what_it_cannot_parse(client: Any) -> None:
    for query in ("colour:'blue'", "name:'a' AND email:'b' OR name:'c'", "just words"):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            client.v1.customers.search({"query": query})
        assert refused.value.param == "query"


def test_subscription_and_invoice_search(client: Any) -> None:
    customer = client.v1.customers.create({"name": "Searchable"}).id
    deal = uuid.uuid4().hex[:8]
    sub = subscribe(client, customer, metadata={"q2c_deal_id": deal})
    found = client.v1.subscriptions.search({"query": f"metadata['q2c_deal_id']:'{deal}' AND status:'active'"})
    assert [s.id for s in found.data] == [sub.id]
    invoices = client.v1.invoices.search({"query": f"customer:'{customer}' AND status:'draft'"})
    assert [i.id for i in invoices.data] == [sub.latest_invoice]
    assert client.v1.invoices.search({"query": f"customer:'{customer}' AND total>0"}).data[0].total == 3600000


# https://docs.stripe.com/expand
def test_expand_on_create_retrieve_list_and_nested(client: Any) -> None:
    customer = client.v1.customers.create({"name": "Expand Co", "email": "x@expand.example"}).id
    sub = subscribe(client, customer, expand=["latest_invoice"])
    assert sub.latest_invoice.object == "invoice"
    got = client.v1.subscriptions.retrieve(sub.id, {"expand": ["customer", "latest_invoice.customer"]})
    assert got.customer.email == "x@expand.example" and got.latest_invoice.customer.id == customer
    listed = client.v1.subscriptions.list({"customer": customer, "expand": ["data.customer"]})
    assert listed.data[0].customer.name == "Expand Co"
    price = client.v1.prices.list({"lookup_keys": ["plat-pro:usd"], "expand": ["data.product"]}).data[0]
    assert price.product.object == "product"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.subscriptions.retrieve(sub.id, {"expand": ["status"]})
    assert "cannot be expanded" in str(refused.value.user_message)


# https://docs.stripe.com/api/subscriptions/object?api-version=2023-08-16
def test_subscription_periods_and_item_prices_in_q2cs_version(client: Any) -> None:
    customer = client.v1.customers.create({"name": "Period Co"}).id
    annual = subscribe(client, customer)
    assert annual.start_date == annual.current_period_start == annual.billing_cycle_anchor
    assert 365 * 86400 <= annual.current_period_end - annual.current_period_start <= 366 * 86400
    item = annual["items"].data[0]
    assert item.price.object == "price" and item.price.recurring.interval == "year" and item.quantity == 2
    monthly = subscribe(client, customer, "plat-team:usd", 1)
    assert 28 * 86400 <= monthly.current_period_end - monthly.current_period_start <= 31 * 86400


# https://docs.stripe.com/changelog/basil/2025-03-31/deprecate-subscription-current-period-start-and-end
# https://docs.stripe.com/changelog/basil/2025-03-31/adds-new-parent-field-to-invoicing-objects
# https://docs.stripe.com/changelog/basil/2025-03-31/invoice-pricing-configurations
def test_newer_versions_move_periods_parents_and_pricing(stripe_sim: StripeSim) -> None:
    latest = sdk(stripe_sim, version=None)  # the SDK's own pinned version
    customer = latest.v1.customers.create({"name": "Basil Co"}).id
    sub = subscribe(latest, customer, metadata={"deal": "basil"}, expand=["latest_invoice"])
    item = sub["items"].data[0]
    assert item.current_period_end > item.current_period_start and "current_period_end" not in sub
    assert sub.last_response.headers["Stripe-Version"] == stripe.api_version
    invoice = sub.latest_invoice
    assert "subscription" not in invoice and invoice.parent.subscription_details.subscription == sub.id
    assert invoice.parent.subscription_details.metadata.to_dict() == {"deal": "basil"}
    line = invoice.lines.data[0]
    assert "price" not in line and line.pricing.price_details.price == item.price.id
    assert line.parent.subscription_item_details.subscription_item == item.id
    old = sdk(stripe_sim).v1.subscriptions.retrieve(sub.id)
    assert old.current_period_end == item.current_period_end and "current_period_end" not in old["items"].data[0]


# https://docs.stripe.com/api/invoices/line_item
def test_invoice_lines_carry_a_price_object_and_page(client: Any) -> None:
    customer = client.v1.customers.create({"name": "Lines Co"}).id
    sub = subscribe(client, customer, expand=["latest_invoice"])
    line = sub.latest_invoice.lines.data[0]
    assert line.price.id == sub["items"].data[0].price.id and line.amount == 2 * line.price.unit_amount
    assert line.period.end > line.period.start and line.type == "subscription"
    for index in range(12):
        client.v1.invoice_items.create({"customer": customer, "amount": 100 + index, "currency": "usd"})
    invoice = client.v1.invoices.create(
        {"customer": customer, "collection_method": "send_invoice", "days_until_due": 7}
    )
    assert len(invoice.lines.data) == 10 and invoice.lines.has_more is True and invoice.total == sum(range(100, 112))
    every = list(client.v1.invoices.line_items.list(invoice.id, {"limit": 5}).auto_paging_iter())
    assert [x.amount for x in every] == list(range(100, 112))


# https://docs.stripe.com/api/invoices/delete, /finalize, /void, /pay
def test_invoice_lifecycle(client: Any) -> None:
    customer = client.v1.customers.create({"name": "Lifecycle Co"}).id
    sub = subscribe(client, customer)
    with pytest.raises(stripe.InvalidRequestError):  # a subscription's draft must be voided, not deleted
        client.v1.invoices.delete(sub.latest_invoice)
    client.v1.invoice_items.create({"customer": customer, "amount": 5000, "currency": "usd"})
    one_off = client.v1.invoices.create(
        {"customer": customer, "collection_method": "send_invoice", "days_until_due": 7}
    )
    assert client.v1.invoices.delete(one_off.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.void_invoice(sub.latest_invoice)  # only open invoices
    opened = client.v1.invoices.finalize_invoice(sub.latest_invoice)
    assert opened.status == "open" and opened.number and opened.status_transitions.finalized_at
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.finalize_invoice(opened.id)
    paid = client.v1.invoices.pay(opened.id, {"paid_out_of_band": True})
    assert paid.status == "paid" and paid.paid is True and paid.amount_remaining == 0 and paid.amount_paid == paid.total
    second = subscribe(client, customer)
    client.v1.invoices.finalize_invoice(second.latest_invoice)
    assert client.v1.invoices.void_invoice(second.latest_invoice).status == "void"
    cancelled = client.v1.subscriptions.cancel(second.id)
    assert cancelled.status == "canceled" and cancelled.canceled_at
    assert second.id not in [s.id for s in client.v1.subscriptions.list({"customer": customer}).data]
    assert second.id in [s.id for s in client.v1.subscriptions.list({"customer": customer, "status": "all"}).data]


# https://docs.stripe.com/api/credit_notes/create
def test_credit_notes_lower_an_open_invoice_and_never_past_it(client: Any) -> None:
    customer = client.v1.customers.create({"name": "Credit Co"}).id
    invoice = client.v1.invoices.finalize_invoice(subscribe(client, customer, "plat-team:usd", 1).latest_invoice)
    note = client.v1.credit_notes.create({"invoice": invoice.id, "amount": 1000, "reason": "order_change"})
    assert note.type == "pre_payment" and note.amount == 1000
    after = client.v1.invoices.retrieve(invoice.id)
    assert after.amount_due == invoice.amount_due - 1000 and after.pre_payment_credit_notes_amount == 1000
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.credit_notes.create({"invoice": invoice.id, "amount": after.amount_remaining + 1})
    assert refused.value.param == "amount"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.credit_notes.create({"invoice": invoice.id})  # one of amount, lines, shipping_cost
    paid = client.v1.invoices.pay(invoice.id, {"paid_out_of_band": True})
    with pytest.raises(stripe.InvalidRequestError):  # post-payment: refund + credit + out of band = amount
        client.v1.credit_notes.create({"invoice": paid.id, "amount": 500})
    post = client.v1.credit_notes.create({"invoice": paid.id, "amount": 500, "out_of_band_amount": 500})
    assert post.type == "post_payment" and client.v1.invoices.retrieve(paid.id).amount_due == after.amount_due


# https://docs.stripe.com/currencies#zero-decimal
def test_zero_decimal_currency_amounts_are_whole_yen(client: Any) -> None:
    product = client.v1.products.create({"name": "Yen plan"}).id
    price = client.v1.prices.create(
        {"product": product, "currency": "jpy", "unit_amount": 5000, "recurring": {"interval": "month"}}
    )
    customer = client.v1.customers.create({"name": "Tokyo KK"}).id
    sub = client.v1.subscriptions.create(
        {"customer": customer, "items": [{"price": price.id, "quantity": 3}], "expand": ["latest_invoice"]}
    )
    assert sub.currency == "jpy" and sub.latest_invoice.total == 15000 and sub.latest_invoice.currency == "jpy"
    with pytest.raises(stripe.InvalidRequestError) as fraction:  # amounts are integers in the minor unit
        client.v1.prices.create({"product": product, "currency": "usd", "unit_amount": "12.50"})
    assert fraction.value.param == "unit_amount"
