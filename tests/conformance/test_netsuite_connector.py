"""q2c's NetSuite connector against the simulator: both logins, exact amounts, every page, schema drift.

The simulator is checked against Oracle's documentation in test_netsuite_simulator.py; here the connector
must behave as a real NetSuite account would need it to.
"""

# ruff: noqa: F811  (ns_sim is a fixture imported from the simulator suite)

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from pydantic import SecretStr

from connectors.errors import BusinessRuleError, SchemaDrift, Unauthorized
from connectors.netsuite import queries as client_module
from connectors.netsuite.client import NetSuiteClient
from connectors.settings import NetSuiteSettings
from connectors.transport import vendor_transport
from models.common import Region
from models.money import Money
from models.orders import OrderLine, SalesOrder
from models.party import Contact, Customer
from simulators.netsuite import suiteql_tables
from tests.conformance.test_netsuite_simulator import (  # noqa: F401
    ACCOUNT,
    CERTIFICATE_ID,
    CLIENT_ID,
    KEY,
    TBA,
    NetSuiteSim,
    ns_sim,
)

PRIVATE_PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()


def tba_settings(ns_sim: NetSuiteSim, **changes: object) -> NetSuiteSettings:
    settings = NetSuiteSettings(
        base_url=f"{ns_sim.url}/netsuite",
        account_id=ACCOUNT,
        consumer_key=SecretStr(TBA["consumer"][0]),
        consumer_secret=SecretStr(TBA["consumer"][1]),
        token_id=SecretStr(TBA["token"][0]),
        token_secret=SecretStr(TBA["token"][1]),
        timeout_s=5,
    )
    return settings.model_copy(update=changes)


def m2m_settings(ns_sim: NetSuiteSim, **changes: object) -> NetSuiteSettings:
    settings = NetSuiteSettings(
        base_url=f"{ns_sim.url}/netsuite",
        auth_mode="m2m",
        client_id=CLIENT_ID,
        certificate_id=CERTIFICATE_ID,
        private_key=SecretStr(PRIVATE_PEM),
        timeout_s=5,
    )
    return settings.model_copy(update=changes)


def customer(key: str) -> Customer:
    return Customer(id=key, legal_name=f"Conformance {key}", currency="USD", region=Region.NA)


async def order(netsuite: NetSuiteClient, key: str, rate: str = "0.10", quantity: int = 3) -> SalesOrder:
    erp_id = await netsuite.upsert_customer(customer(f"cust-{key}"))
    items = await netsuite.resolve_items(["IMPL-STD"])
    return await netsuite.create_sales_order(
        SalesOrder(
            external_id=key,
            customer_id=erp_id,
            order_date=date(2026, 11, 25),
            currency="USD",
            lines=[
                OrderLine(
                    sku="IMPL-STD",
                    item_id=items["IMPL-STD"],
                    quantity=Decimal(quantity),
                    rate=Money(amount=Decimal(rate), currency="USD"),
                )
            ],
        )
    )


def tokens_issued(ns_sim: NetSuiteSim) -> int:
    return len(ns_sim.store.all("netsuite", "oauth2AccessToken"))


# ---- logins ----
async def test_tba_by_default_signs_every_request_and_amounts_are_exact(ns_sim):
    async with NetSuiteClient(tba_settings(ns_sim)) as netsuite:
        created = await order(netsuite, "conn-exact-1")
        assert created.total == Money(amount=Decimal("0.30"), currency="USD")  # 3 x 0.10, never 0.30000000000000004
        record = await netsuite.get("salesOrder", str(created.id))
        line = record["item"]["items"][0]  # read with expandSubResources=true
        assert isinstance(record["total"], Decimal) and isinstance(line["rate"], Decimal)


async def test_tba_with_a_wrong_secret_is_unauthorized(ns_sim):
    async with NetSuiteClient(tba_settings(ns_sim, token_secret=SecretStr("not-it"))) as netsuite:
        with pytest.raises(Unauthorized) as info:
            await netsuite.get("customer", "eid:cust-conn-exact-1")
    assert info.value.code == "INVALID_LOGIN" and "not-it" not in str(info.value)


async def test_m2m_token_is_cached_then_refreshed_once_after_a_401(ns_sim):
    async with NetSuiteClient(m2m_settings(ns_sim)) as netsuite:
        before = tokens_issued(ns_sim)
        first = await netsuite.upsert_customer(customer("conn-m2m-1"))
        await netsuite.credit_position(first)
        assert tokens_issued(ns_sim) == before + 1  # one token for both calls
        for token in ns_sim.store.all("netsuite", "oauth2AccessToken"):  # NetSuite expires it early
            ns_sim.store.put("netsuite", "oauth2AccessToken", token["id"], {**token, "expiresAt": time.time() - 1})
        position = await netsuite.credit_position(first)  # 401, a new token, the same request again
        assert position.balance == Money(amount=Decimal(0), currency="USD")
        assert tokens_issued(ns_sim) == before + 2


async def test_m2m_concurrent_first_calls_share_one_token(ns_sim):
    async with NetSuiteClient(m2m_settings(ns_sim)) as netsuite:
        before = tokens_issued(ns_sim)
        await asyncio.gather(*(netsuite.find("customer", f"eid:absent-{n}") for n in range(4)))
        assert tokens_issued(ns_sim) == before + 1


async def test_m2m_refused_assertion_is_unauthorized_and_names_no_secret(ns_sim):
    async with NetSuiteClient(m2m_settings(ns_sim, certificate_id="unknown-certificate")) as netsuite:
        with pytest.raises(Unauthorized) as info:
            await netsuite.get("customer", "eid:cust-conn-exact-1")
    message = str(info.value)
    assert "invalid_grant" in message and "PRIVATE KEY" not in message and PRIVATE_PEM[40:80] not in message


def test_m2m_without_a_private_key_fails_at_start_and_settings_hide_secrets(ns_sim):
    with pytest.raises(Unauthorized, match="PRIVATE_KEY"):
        NetSuiteClient(m2m_settings(ns_sim, private_key=None))
    shown = repr(m2m_settings(ns_sim)) + repr(tba_settings(ns_sim))
    assert TBA["token"][1] not in shown and TBA["consumer"][1] not in shown and "PRIVATE KEY" not in shown


# ---- reads ----
async def test_list_reads_page_to_the_end(ns_sim, monkeypatch):
    async with NetSuiteClient(tba_settings(ns_sim)) as netsuite:
        for n in range(5):
            await netsuite.upsert_customer(customer(f"conn-page-{n}"))
        monkeypatch.setattr(client_module, "PAGE_SIZE", 2)
        ids = await netsuite.list_ids("customer", 'externalId START_WITH "conn-page-"')
        assert len(ids) == len(set(ids)) == 5
        records = await netsuite.records_where("customer", 'externalId START_WITH "conn-page-"')
        assert sorted(r["externalId"] for r in records) == [f"conn-page-{n}" for n in range(5)]


async def test_suiteql_reader_pages_and_selects_by_prefix_and_date_window(ns_sim, monkeypatch):
    async with NetSuiteClient(tba_settings(ns_sim)) as netsuite:
        for n in range(3):
            await order(netsuite, f"conn-ql_{n}", rate="12.34")
        await order(netsuite, "conn-qlX0", rate="1")  # matched by LIKE's `_` wildcard, dropped exactly
        monkeypatch.setattr(client_module, "PAGE_SIZE", 2)
        rows = await netsuite.transactions("salesOrder", external_id_prefix="conn-ql_", since=date(2026, 11, 1))
        assert [r["externalid"] for r in rows] == ["conn-ql_0", "conn-ql_1", "conn-ql_2"]
        assert all(Decimal(r["foreigntotal"]) == Decimal("37.02") for r in rows)
        assert await netsuite.transactions("salesOrder", external_id_prefix="conn-ql_", until=date(2026, 1, 1)) == []


# ---- schema drift ----
def _drift(ns_sim: NetSuiteSim, kind: str, record_id: str, change: dict[str, object], drop: str | None = None) -> None:
    record = ns_sim.store.get("netsuite", kind, record_id)
    assert record is not None
    record.update(change)
    if drop:
        record.pop(drop)
    ns_sim.store.put("netsuite", kind, record_id, record)


async def test_a_renamed_order_field_is_schema_drift_naming_system_object_and_field(ns_sim):
    async with NetSuiteClient(tba_settings(ns_sim)) as netsuite:
        created = await order(netsuite, "conn-drift-1")
        _drift(ns_sim, "salesOrder", str(created.id), {"grandTotal": "0.30"}, drop="total")
        with pytest.raises(SchemaDrift) as info:
            await netsuite.get_sales_order(str(created.id))
    assert (info.value.system, info.value.object, info.value.field) == ("netsuite", "salesOrder", "total")
    assert not info.value.retryable


async def test_a_retyped_line_amount_is_schema_drift(ns_sim):
    async with NetSuiteClient(tba_settings(ns_sim)) as netsuite:
        created = await order(netsuite, "conn-drift-2")
        record = ns_sim.store.get("netsuite", "salesOrder", str(created.id))
        assert record is not None
        record["item"]["items"][0]["rate"] = {"value": "0.10"}  # an object where NetSuite sends a number
        ns_sim.store.put("netsuite", "salesOrder", str(created.id), record)
        with pytest.raises(SchemaDrift) as info:
            await netsuite.get_sales_order(str(created.id))
    assert info.value.field == "item.items[0].rate" and "expected a number" in info.value.problem


class RewrittenSuiteQL(httpx.AsyncBaseTransport):
    """The wire, with each SuiteQL row changed by `change` on its way back: a drifted NetSuite answer."""

    def __init__(self, change: Callable[[dict[str, Any]], None]) -> None:
        self.inner, self.change = vendor_transport(), change

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not request.url.path.endswith("/query/v1/suiteql") or response.status_code != 200:
            return response
        body = json.loads(await response.aread())
        for row in body["items"]:
            self.change(row)
        return httpx.Response(200, json=body, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (lambda row: row.update(isinactive=False), "isinactive", "expected a checkbox"),  # JSON boolean
        (lambda row: row.update(isinactive="No"), "isinactive", "expected one of"),
        (lambda row: row.pop("id"), "id", "missing"),
        (lambda row: row.update(custitem_q2c_service_tier=3), "custitem_q2c_service_tier", "expected a text"),
    ],
)
async def test_a_drifted_item_row_is_schema_drift(ns_sim, change, field, problem):
    async with NetSuiteClient(tba_settings(ns_sim), transport=RewrittenSuiteQL(change)) as netsuite:
        with pytest.raises(SchemaDrift) as info:
            await netsuite.resolve_items(["PLAT-PRO", "TRAIN-DAY"])
    assert (info.value.system, info.value.object, info.value.field) == ("netsuite", "item", field)
    assert problem in info.value.problem and not info.value.retryable


async def test_an_item_column_the_account_lacks_is_schema_drift_not_a_business_error(ns_sim, monkeypatch):
    """The custom field deleted or renamed in the account: SuiteQL answers 400 "Field '...' for record 'item'
    was not found."; a person must map it, so it is SchemaDrift naming the column."""
    monkeypatch.delitem(suiteql_tables.COLUMNS["item"], "custitem_q2c_service_tier")
    async with NetSuiteClient(tba_settings(ns_sim)) as netsuite:
        with pytest.raises(SchemaDrift) as info:
            await netsuite.resolve_catalog(["PLAT-PRO"])
    assert (info.value.object, info.value.field, info.value.status) == ("item", "custitem_q2c_service_tier", 400)


async def test_a_suiteql_unknown_identifier_is_schema_drift_on_the_queried_table(ns_sim):
    """The wording community write-ups report from NetSuite names only the column: the table is the query's."""
    async with NetSuiteClient(tba_settings(ns_sim)) as netsuite:
        refusal = {"o:errorDetails": [{"detail": "Invalid search query. Unknown identifier 'balance'."}]}
        request = httpx.Request(
            "POST", f"{ns_sim.url}/netsuite{client_module.SUITEQL}", json={"q": "SELECT id, balance FROM Customer"}
        )
        drift = netsuite.business_error(httpx.Response(400, json=refusal, request=request), "INVALID_PARAMETER", "x")
    assert isinstance(drift, SchemaDrift) and (drift.object, drift.field) == ("customer", "balance")


async def test_catalog_skus_are_chunked_into_few_queries_and_keep_their_order(ns_sim, monkeypatch):
    monkeypatch.setattr(client_module, "SKUS_PER_QUERY", 2)
    async with NetSuiteClient(tba_settings(ns_sim)) as netsuite:
        sent: list[str] = []

        async def record(request: httpx.Request) -> None:
            sent.append(request.url.path)

        netsuite._http.event_hooks["request"].append(record)
        ids, tiers = await netsuite.resolve_catalog(["TRAIN-DAY", "PLAT-PRO", "SUP-247", "TRAIN-DAY"])
    assert len(sent) == 2 and all(path.endswith("/query/v1/suiteql") for path in sent)
    assert list(ids) == ["TRAIN-DAY", "PLAT-PRO", "SUP-247"]
    assert tiers == {"PLAT-PRO": "premium", "SUP-247": "enterprise"}


async def test_added_fields_change_nothing(ns_sim):
    async with NetSuiteClient(tba_settings(ns_sim)) as netsuite:
        created = await order(netsuite, "conn-drift-3")
        _drift(ns_sim, "salesOrder", str(created.id), {"custbody_new_thing": "x", "shipDate": "2026-12-01"})
        assert (await netsuite.get_sales_order(str(created.id))).total == created.total


async def test_the_customer_carries_its_primary_contacts_email_and_a_customer_without_one_keeps_the_erps(ns_sim):
    """NetSuite emails a customer's invoices to its `email`: set from the first contact, the one CustomerSync
    writes there too (attribute `contacts`); a customer sent without contacts leaves what finance typed."""
    billing = Contact(first_name="Ada", last_name="Payable", email="ap@conformance.example")
    other = Contact(first_name="Bo", last_name="Buyer", email="bo@conformance.example")
    async with NetSuiteClient(tba_settings(ns_sim)) as netsuite:
        await netsuite.upsert_customer(customer("conn-email-1").model_copy(update={"contacts": [billing, other]}))
        assert (await netsuite.get("customer", "eid:conn-email-1"))["email"] == "ap@conformance.example"
        await netsuite.update_customer("conn-email-1", {"email": "invoices@conformance.example"})  # by finance
        await netsuite.upsert_customer(customer("conn-email-1"))
        assert (await netsuite.get("customer", "eid:conn-email-1"))["email"] == "invoices@conformance.example"


async def test_writes_ask_netsuite_to_refuse_unknown_fields(ns_sim):
    async with NetSuiteClient(tba_settings(ns_sim)) as netsuite:
        await netsuite.upsert_customer(customer("conn-strict-1"))
        with pytest.raises(BusinessRuleError) as info:
            await netsuite.update_customer("conn-strict-1", {"companyNam": "typo"})
    assert info.value.code == "INVALID_CONTENT" and "companyNam" in info.value.message


async def test_bearer_mode_uses_the_static_token_only_when_the_simulator_accepts_one(ns_sim):
    settings = tba_settings(ns_sim, auth_mode="bearer", token=SecretStr("netsuite-token-dev"))
    async with NetSuiteClient(settings) as netsuite:
        with pytest.raises(Unauthorized):
            await netsuite.get("customer", "eid:cust-conn-exact-1")
