"""Connectors against the simulators over real HTTP."""

from datetime import date
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr

from connectors.errors import BusinessRuleError, NotFound, RateLimited, TransientError, Unauthorized
from connectors.http import correlation_id, retry_after_seconds
from connectors.hubspot.client import HubSpotClient
from connectors.netsuite.client import NetSuiteClient
from connectors.settings import NetSuiteSettings, simulator_settings
from connectors.stripe.client import StripeClient
from connectors.zendesk.client import ZendeskClient
from models.catalog import BillingFrequency
from models.common import Region
from models.money import Money
from models.orders import InvoiceStatus, OrderLine, OrderStatus, SalesOrder, SubscriptionItem, SubscriptionStatus
from models.party import Contact, Customer, TaxRegistration
from models.support import EntitlementStatus, SupportOrganization
from simulators.stripe_spec import decode_form, find_spec, load_spec


def customer(key: str, region: Region = Region.NA, currency: str = "USD", tax: bool = True) -> Customer:
    return Customer(
        id=key,
        legal_name=f"Customer {key}",
        currency=currency,
        region=region,
        tax_registration=TaxRegistration(country="DE", number="DE123456789") if tax else None,
        contacts=[Contact(first_name="Ada", last_name="L", email=f"{key}@example.com")],
    )


async def new_order(netsuite: NetSuiteClient, key: str, rate: str = "100") -> SalesOrder:
    erp_id = await netsuite.upsert_customer(customer(f"cust-{key}"))
    items = await netsuite.resolve_items(["IMPL-STD", "TRAIN-DAY"])
    order = SalesOrder(
        external_id=f"so-{key}",
        customer_id=erp_id,
        order_date=date(2026, 11, 25),
        currency="USD",
        lines=[
            OrderLine(sku=sku, item_id=item, quantity=Decimal(1), rate=Money(amount=Decimal(rate), currency="USD"))
            for sku, item in items.items()
        ],
    )
    return await netsuite.create_sales_order(order)


# ---- HubSpot ----
async def test_hubspot_get_deal_maps_lines_and_company(hubspot, sim):
    deal_id = sim.manifest["deals"]["existing"][0]
    deal = await hubspot.get_deal(deal_id)
    assert deal.id == deal_id and deal.currency == "USD" and deal.lines
    assert deal.company is not None and deal.company.legal_name == "Acme Existing Corp Inc."
    assert deal.company.tax_registration is not None and deal.company.contacts
    assert deal.amount == Money(
        amount=Decimal(
            deal.properties.get("amount") or sim.store.get("hubspot", "deals", deal_id)["properties"]["amount"]
        ),
        currency="USD",
    )
    assert {line.frequency for line in deal.lines} >= {BillingFrequency.ANNUALLY}


async def test_hubspot_update_deal_and_upsert_is_idempotent(hubspot, sim):
    deal_id = sim.manifest["deals"]["ordinary"][0]
    await hubspot.update_deal(deal_id, {"erp_order_number": "SO123", "q2c_status": "ordered"})
    assert sim.store.get("hubspot", "deals", deal_id)["properties"]["erp_order_number"] == "SO123"
    before = len(sim.records("hubspot", "companies"))
    first = await hubspot.upsert("companies", "q2c_company_key", "key-1", {"name": "Upserted"})
    second = await hubspot.upsert("companies", "q2c_company_key", "key-1", {"name": "Upserted again"})
    assert first == (first[0], True) and second == (first[0], False)
    assert len(sim.records("hubspot", "companies")) == before + 1
    assert await hubspot.search_ids("companies", "q2c_company_key", "key-1") == [first[0]]


async def test_hubspot_deal_with_bad_line_is_a_business_error_naming_it(hubspot, sim):
    deal_id = sim.manifest["deals"]["ordinary"][1]
    line_id = sim.store.get("hubspot", "deals", deal_id)["associations"]["line_items"][0]
    record = sim.store.get("hubspot", "line_items", line_id)
    sim.store.put(
        "hubspot", "line_items", line_id, {**record, "properties": {**record["properties"], "quantity": "-3"}}
    )
    try:
        with pytest.raises(BusinessRuleError, match="quantity") as info:
            await hubspot.get_deal(deal_id)
        assert info.value.code == "INVALID_DEAL"
    finally:
        sim.store.put("hubspot", "line_items", line_id, record)


async def test_hubspot_missing_deal_is_not_found(hubspot):
    with pytest.raises(NotFound):
        await hubspot.get_deal("999999")


async def test_hubspot_rate_limit_without_retry_after_uses_the_interval_header(hubspot, sim):
    sim.fault(system="hubspot", kind="rate_limit", count=1)
    with pytest.raises(RateLimited) as info:
        await hubspot.get_company("50000")
    assert info.value.retry_after == 1.0  # the fault's default Retry-After
    assert retry_after_seconds(None) is None


# ---- NetSuite ----
async def test_netsuite_customer_upsert_is_idempotent_and_credit_position_reads_back(netsuite, sim):
    before = len(sim.records("netsuite", "customer"))
    first = await netsuite.upsert_customer(customer("ns-1"))
    again = await netsuite.upsert_customer(customer("ns-1"))
    assert first == again and len(sim.records("netsuite", "customer")) == before + 1
    position = await netsuite.credit_position(first)
    assert position.limit is None and position.balance == Money.zero("USD")


async def test_netsuite_order_invoice_credit_memo_each_once(netsuite, sim):
    order = await new_order(netsuite, "once")
    again = await new_order(netsuite, "once")
    assert order.id == again.id and order.status is OrderStatus.PENDING_FULFILLMENT
    assert order.total == Money(amount=Decimal("200.00"), currency="USD")
    assert len(sim.store.find("netsuite", "salesOrder", "externalId", "so-once")) == 1
    position = await netsuite.credit_position(order.customer_id)
    assert position.unbilled_orders == Money(amount=Decimal(200), currency="USD")
    invoice = await netsuite.invoice_order(str(order.id), "inv-once")
    assert (await netsuite.invoice_order(str(order.id), "inv-once")).id == invoice.id
    assert invoice.status is InvoiceStatus.OPEN and invoice.total == order.total
    assert (await netsuite.get_sales_order(str(order.id))).status is OrderStatus.BILLED
    memo = await netsuite.credit_invoice(invoice.id, "cm-once", "deal cancelled")
    assert await netsuite.credit_invoice(invoice.id, "cm-once", "deal cancelled") == memo
    assert (await netsuite.get_invoice(invoice.id)).status is InvoiceStatus.PAID
    assert (await netsuite.credit_position(order.customer_id)).balance == Money(amount=Decimal(0), currency="USD")


async def test_netsuite_cancel_unbilled_close_billed(netsuite):
    unbilled = await new_order(netsuite, "cancel-me")
    assert (await netsuite.cancel_or_close_order(str(unbilled.id), "test")).status is OrderStatus.CANCELLED
    assert (await netsuite.cancel_or_close_order(str(unbilled.id), "test")).status is OrderStatus.CANCELLED
    billed = await new_order(netsuite, "close-me")
    await netsuite.invoice_order(str(billed.id), "inv-close-me")
    assert (await netsuite.cancel_or_close_order(str(billed.id), "test")).status is OrderStatus.CLOSED


async def test_netsuite_tax_registration_rule_is_a_business_error(netsuite):
    erp_id = await netsuite.upsert_customer(customer("no-tax", Region.EMEA, "EUR", tax=False))
    order = SalesOrder(
        external_id="so-no-tax",
        customer_id=erp_id,
        order_date=date(2026, 11, 25),
        currency="EUR",
        lines=[OrderLine(sku="IMPL-STD", quantity=Decimal(1), rate=Money(amount=Decimal(1), currency="EUR"))],
    )
    with pytest.raises(BusinessRuleError, match="Tax registration") as info:
        await netsuite.create_sales_order(order)
    assert info.value.code == "MISSING_TAX_REGISTRATION" and not info.value.retryable  # refined from USER_ERROR


async def test_netsuite_unknown_product(netsuite):
    with pytest.raises(BusinessRuleError, match="NOPE-1") as info:
        await netsuite.resolve_items(["IMPL-STD", "NOPE-1"])
    assert info.value.code == "UNKNOWN_PRODUCT"


def vendor_requests(client: NetSuiteClient) -> list[str]:
    """Every request the client sends from now on, as `METHOD path` (an httpx event hook)."""
    sent: list[str] = []

    async def record(request: httpx.Request) -> None:
        sent.append(f"{request.method} {request.url.path}")

    client._http.event_hooks["request"].append(record)
    return sent


async def test_netsuite_catalog_of_three_skus_is_one_suiteql_request(netsuite):
    """Resolving a 3-line deal's catalog costs one NetSuite request (it was one REST GET per SKU)."""
    sent = vendor_requests(netsuite)
    ids, tiers = await netsuite.resolve_catalog(["PLAT-PRO", "IMPL-STD", "TRAIN-DAY", "PLAT-PRO"])
    assert len(sent) == 1 and sent[0] == "POST /netsuite/services/rest/query/v1/suiteql", sent
    assert list(ids) == ["PLAT-PRO", "IMPL-STD", "TRAIN-DAY"] and all(ids.values())
    assert tiers == {"PLAT-PRO": "premium"}  # the one-time items have no tier: NetSuite leaves the null out


async def test_netsuite_catalog_refuses_an_absent_and_an_inactive_sku_by_name(netsuite, sim):
    retired = {"id": "9901", "externalId": "RETIRED-1", "itemId": "RETIRED-1", "displayName": "Retired"}
    sim.store.put("netsuite", "nonInventorySaleItem", "9901", {**retired, "basePrice": 1.0, "isInactive": True})
    for skus, refused in ((["IMPL-STD", "NOPE-2"], "NOPE-2"), (["IMPL-STD", "RETIRED-1"], "RETIRED-1")):
        with pytest.raises(BusinessRuleError) as info:
            await netsuite.resolve_catalog(skus)
        assert info.value.code == "UNKNOWN_PRODUCT" and not info.value.retryable
        assert f"product {refused!r} has no active ERP item" in info.value.message


@pytest.mark.parametrize(
    ("fault", "error", "code", "delay"),
    [
        ({"kind": "error"}, TransientError, "UNEXPECTED_ERROR", None),
        ({"kind": "error", "status": 500, "code": "SSS_REQUEST_LIMIT"}, TransientError, "SSS_REQUEST_LIMIT", None),
        ({"kind": "rate_limit", "retry_after": 7}, RateLimited, "CONCURRENCY_LIMIT_EXCEEDED", 7.0),
        (
            {"kind": "business", "code": "USER_ERROR", "message": "Tax validation failed"},
            BusinessRuleError,
            "USER_ERROR",
            None,
        ),
    ],
)
async def test_netsuite_fault_kinds_map_to_error_classes(netsuite, sim, fault, error, code, delay):
    sim.fault(system="netsuite", count=1, path="/services/rest/record/v1/customer/*", **fault)
    with pytest.raises(error) as info:
        await netsuite.credit_position("100")
    assert type(info.value) is error and info.value.code == code
    if delay is not None:
        assert info.value.retry_after == delay
    await netsuite.credit_position("100")  # the fault was used up


async def test_scripted_business_error_only_for_the_matching_account(netsuite, sim):
    sim.fault(
        system="netsuite",
        kind="business",
        method="PUT",
        match="cust-taxfail",
        code="USER_ERROR",
        message="Tax validation failed for this account",
    )
    with pytest.raises(BusinessRuleError, match="Tax validation failed"):
        await netsuite.upsert_customer(customer("cust-taxfail"))
    await netsuite.upsert_customer(customer("cust-fine"))


async def test_hang_past_the_client_timeout_is_transient(sim):
    sim.fault(system="netsuite", kind="hang", hang_seconds=2, count=1)
    settings = simulator_settings(sim.url)[1]
    settings.timeout_s = 0.3
    async with NetSuiteClient(settings) as client:
        with pytest.raises(TransientError) as info:
            await client.credit_position("100")
    assert info.value.code == "timeout"


async def test_latency_below_the_timeout_still_succeeds(netsuite, sim):
    sim.fault(system="netsuite", kind="latency", latency_ms=100, count=1)
    assert (await netsuite.credit_position("100")).customer_id == "100"


async def test_connection_refused_is_transient():
    settings = simulator_settings("http://127.0.0.1:9")[1]
    async with NetSuiteClient(settings) as client:
        with pytest.raises(TransientError) as info:
            await client.credit_position("100")
    assert info.value.code == "connection"


@pytest.mark.parametrize("client_class", [HubSpotClient, NetSuiteClient, StripeClient, ZendeskClient])
async def test_wrong_credentials_are_unauthorized(sim, client_class):
    index = [HubSpotClient, NetSuiteClient, StripeClient, ZendeskClient].index(client_class)
    settings = simulator_settings(sim.url)[index]
    settings.token = SecretStr("wrong")
    if isinstance(settings, NetSuiteSettings):
        settings.token_secret = SecretStr("wrong")  # NetSuite signs with OAuth 1.0a (TBA) by default
    async with client_class(settings) as client:
        with pytest.raises(Unauthorized):
            await client.request(
                "GET",
                {
                    0: "/crm/v3/objects/deals/10000",
                    1: "/services/rest/record/v1/customer/100",
                    2: "/v1/customers",
                    3: "/api/v2/organizations",
                }[index],
            )


async def test_correlation_id_travels_in_a_header(sim):
    seen = []

    async def spy(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("x-correlation-id"))
        return httpx.Response(200, json={"organizations": []})

    settings = simulator_settings(sim.url)[3]
    async with ZendeskClient(settings, transport=httpx.MockTransport(spy)) as client:
        token = correlation_id.set("corr-42")
        try:
            await client.find_organization("x")
        finally:
            correlation_id.reset(token)
    assert seen == ["corr-42"]


def test_retry_after_accepts_seconds_and_http_dates():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Wed, 25 Nov 2026 15:00:10 GMT", now=1795618800.0) == 10.0
    assert retry_after_seconds("soon") is None


# ---- Stripe ----
class Recorder(httpx.AsyncHTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        return await super().handle_async_request(request)


async def stripe_flow(client: StripeClient, key: str) -> None:
    billing_id = await client.ensure_customer(customer(key))
    price = await client.find_price("PLAT-PRO", "USD")
    sub = await client.create_subscription(
        billing_id, [SubscriptionItem(price_id=str(price.id), quantity=2)], {"q2c_deal": key}, f"{key}-subscription"
    )
    assert sub.latest_invoice is not None
    invoice = await client.finalize_invoice(sub.latest_invoice.id, f"{key}-finalize")
    await client.withdraw_invoice(invoice.id, "cancelled", f"{key}-void")
    await client.cancel_subscription(sub.id)


async def test_stripe_requests_validate_against_stripes_spec(sim):
    spec_path = find_spec()
    if spec_path is None:
        pytest.skip("../shared/vendor-specs/stripe/openapi-subset.yaml is absent: nothing to validate against")
    spec = load_spec(str(spec_path))
    recorder = Recorder()
    async with StripeClient(simulator_settings(sim.url)[2], transport=recorder) as client:
        await stripe_flow(client, "spec-check")
    posts = [r for r in recorder.requests if r.method == "POST"]
    assert len(posts) >= 4
    for request in posts:
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        assert request.headers["idempotency-key"]
        spec.validate("POST", request.url.path.removeprefix("/stripe"), decode_form(request.content))


async def test_stripe_subscription_lifecycle_and_idempotent_repeats(stripe, sim):
    billing_id = await stripe.ensure_customer(customer("st-1"))
    assert await stripe.ensure_customer(customer("st-1")) == billing_id
    price = await stripe.find_price("PLAT-TEAM", "GBP")
    assert price.frequency is BillingFrequency.MONTHLY and price.unit_amount.currency == "GBP"
    items = [SubscriptionItem(price_id=str(price.id), quantity=3)]
    sub = await stripe.create_subscription(billing_id, items, {"q2c_deal": "1"}, "st-1-sub")
    again = await stripe.create_subscription(billing_id, items, {"q2c_deal": "1"}, "st-1-sub")
    assert again.id == sub.id and len(sim.store.find("stripe", "subscription", "customer", billing_id)) == 1
    assert sub.status is SubscriptionStatus.ACTIVE and sub.latest_invoice is not None
    assert sub.latest_invoice.status is InvoiceStatus.DRAFT
    assert sub.latest_invoice.total == price.unit_amount * 3
    # Stripe deletes one-off drafts only: a subscription's draft is finalized, then voided
    assert (await stripe.withdraw_invoice(sub.latest_invoice.id, "x", "st-1-w")) == "void"
    assert (await stripe.cancel_subscription(sub.id)).status is SubscriptionStatus.CANCELED
    assert (await stripe.cancel_subscription(sub.id)).status is SubscriptionStatus.CANCELED


async def test_stripe_open_invoice_is_voided_and_paid_is_credited(stripe):
    billing_id = await stripe.ensure_customer(customer("st-2"))
    price = await stripe.find_price("SUP-PREM", "EUR")
    for outcome in ("void", "credited"):
        sub = await stripe.create_subscription(
            billing_id, [SubscriptionItem(price_id=str(price.id), quantity=1)], {}, f"st-2-{outcome}"
        )
        assert sub.latest_invoice is not None
        invoice = await stripe.finalize_invoice(sub.latest_invoice.id, f"st-2-{outcome}-fin")
        assert invoice.status is InvoiceStatus.OPEN and invoice.number
        if outcome == "credited":
            await stripe.pay_invoice(invoice.id, f"st-2-{outcome}-pay")
        assert str(await stripe.withdraw_invoice(invoice.id, "undo", f"st-2-{outcome}-w")) == outcome


async def test_stripe_missing_price_and_should_retry_header(stripe, sim):
    with pytest.raises(NotFound, match="nope:usd"):
        await stripe.find_price("NOPE", "USD")
    sim.fault(system="stripe", kind="rate_limit", count=1, retry_after=2, code="lock_timeout")
    with pytest.raises(RateLimited) as limited:
        await stripe.find_price("PLAT-PRO", "USD")
    assert limited.value.retry_after == 2.0
    sim.fault(system="stripe", kind="error", status=500, count=1)
    with pytest.raises(TransientError):
        await stripe.find_price("PLAT-PRO", "USD")
    sim.fault(system="stripe", kind="business", status=402, code="card_declined", count=1)
    with pytest.raises(BusinessRuleError) as declined:
        await stripe.find_price("PLAT-PRO", "USD")
    assert declined.value.code == "card_declined"


# ---- Zendesk ----
async def test_zendesk_organization_upsert_and_ticket_once(zendesk, sim):
    org = SupportOrganization(
        external_id="zd-cust-1",
        name="ZD Customer One",
        service_tier="premium",
        contract_start=date(2026, 12, 1),
        contract_end=date(2027, 11, 30),
        entitlement_status=EntitlementStatus.ACTIVE,
        erp_customer_id="101",
    )
    before = len(sim.records("zendesk", "organization"))
    first = await zendesk.upsert_organization(org)
    second = await zendesk.upsert_organization(org.model_copy(update={"service_tier": "enterprise"}))
    assert first.id == second.id and second.service_tier == "enterprise"
    assert second.contract_end == date(2027, 11, 30) and second.entitlement_status is EntitlementStatus.ACTIVE
    assert len(sim.records("zendesk", "organization")) == before + 1
    await zendesk.update_organization_fields("zd-cust-1", {"invoice_status": "paid"})
    found = await zendesk.find_organization("zd-cust-1")
    assert found is not None and found.invoice_status == "paid" and found.service_tier == "enterprise"
    tickets = [
        await zendesk.create_ticket("Finance review", "Unpaid", first.id, "t-1", ["q2c"], "ticket-key-1")
        for _ in range(2)
    ]
    assert tickets[0] == tickets[1]
    assert len([t for t in sim.records("zendesk", "ticket") if t["external_id"] == "t-1"]) == 1


async def test_zendesk_rate_limit_and_validation(zendesk, sim):
    sim.fault(system="zendesk", kind="rate_limit", retry_after=4, count=1)
    with pytest.raises(RateLimited) as info:
        await zendesk.find_organization("x")
    assert info.value.retry_after == 4.0
    with pytest.raises(BusinessRuleError, match="name") as invalid:
        await zendesk.upsert_organization(SupportOrganization(external_id="zd-bad", name=""))
    assert invalid.value.code == "BlankValue"


async def test_stripe_customer_is_one_record_however_many_sagas_race_for_it(stripe, sim):
    import asyncio

    ids = await asyncio.gather(*(stripe.ensure_customer(customer("st-race")) for _ in range(5)))
    assert len(set(ids)) == 1
    assert len([c for c in sim.records("stripe", "customer") if c["metadata"].get("q2c_customer_id") == "st-race"]) == 1
    renamed = customer("st-race").model_copy(update={"legal_name": "Renamed Ltd"})
    assert await stripe.ensure_customer(renamed) == ids[0]


async def test_zendesk_name_taken_by_another_customer_is_disambiguated(zendesk):
    first = await zendesk.upsert_organization(SupportOrganization(external_id="twin-1", name="Twin Holdings"))
    second = await zendesk.upsert_organization(SupportOrganization(external_id="twin-2", name="Twin Holdings"))
    assert first.id != second.id and second.name == "Twin Holdings [twin-2]"
    again = await zendesk.upsert_organization(SupportOrganization(external_id="twin-2", name="Twin Holdings"))
    assert again.id == second.id
