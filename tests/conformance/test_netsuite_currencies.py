"""Currencies are references: written by internal id, read by internal id, never by their display name.

Oracle sets references as `{"id": ...}` (https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156334828635.html);
a reference's `refName` is its display text (section_1545142037.html), a currency's name, which each account
chooses. The simulator names its currencies "US Dollar", "Euro"... so a client that took `refName` for the
ISO code fails here as it would on such an account.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
import requests

from connectors.errors import BusinessRuleError, SchemaDrift
from connectors.netsuite.client import NetSuiteClient
from connectors.settings import NetSuiteSettings
from models.common import Region
from models.money import Money
from models.party import Customer
from tests.conformance.test_netsuite_connector import order, tba_settings
from tests.conformance.test_netsuite_simulator import RECORDS, error_code, new_customer, oauth1
from tests.conformance.test_netsuite_simulator import ns_sim as ns_sim


def test_a_read_currency_is_its_id_and_name_and_a_write_by_name_alone_is_refused(ns_sim):
    customer_id = new_customer(ns_sim, "cur-read-1")
    read = requests.get(f"{ns_sim.url}{RECORDS}/customer/{customer_id}", auth=oauth1(), timeout=10).json()
    assert read["currency"] == {"id": "1", "refName": "US Dollar"}
    refused = requests.put(
        f"{ns_sim.url}{RECORDS}/customer/eid:cur-read-2",
        json={"companyName": "By name", "currency": {"refName": "USD"}},
        auth=oauth1(),
        timeout=10,
    )
    assert refused.status_code == 400 and error_code(refused) == "INVALID_KEY_OR_REF"
    assert "currency" in refused.json()["o:errorDetails"][0]["o:errorPath"]


def test_a_customer_without_a_currency_takes_its_subsidiarys_base_currency(ns_sim):
    customer_id = new_customer(ns_sim, "cur-uk-1", currency=None, subsidiary={"id": "3"}, defaultTaxReg="GB1")
    read = requests.get(f"{ns_sim.url}{RECORDS}/customer/{customer_id}", auth=oauth1(), timeout=10).json()
    assert read["currency"] == {"id": "2", "refName": "British pound"}


async def test_the_connector_writes_a_currency_by_id_and_reads_its_iso_code(ns_sim):
    async with NetSuiteClient(tba_settings(ns_sim)) as netsuite:
        sent: list[dict[str, Any]] = []

        async def record(request: httpx.Request) -> None:
            if request.method in ("PUT", "POST") and "/record/v1/" in request.url.path:
                sent.append(json.loads(request.content))

        netsuite._http.event_hooks["request"].append(record)
        created = await order(netsuite, "cur-conn-1")
        eur = Customer(id="cur-conn-eur", legal_name="Euro Co", currency="EUR", region=Region.EMEA)
        eur_id = await netsuite.upsert_customer(eur)
        position = await netsuite.credit_position(eur_id)
    assert [body["currency"] for body in sent] == [{"id": "1"}, {"id": "1"}, {"id": "4"}]
    assert created.currency == "USD" and created.total == Money(amount=Decimal("0.30"), currency="USD")
    assert position.balance.currency == "EUR"


async def test_a_currency_the_account_lacks_is_a_business_error_naming_it(ns_sim):
    async with NetSuiteClient(tba_settings(ns_sim)) as netsuite:
        with pytest.raises(BusinessRuleError) as info:
            await netsuite.upsert_customer(
                Customer(id="cur-chf", legal_name="Franc Co", currency="CHF", region=Region.EMEA)
            )
    assert info.value.code == "NO_CURRENCY" and "CHF" in info.value.message


def _account(
    currencies: list[tuple[str, str]], customer_currency: str, queries: list[str] | None = None
) -> httpx.MockTransport:
    """An account whose currency list grows after the first read: SuiteQL answers `currencies` as they are
    when asked; the customer record names `customer_currency` by id."""

    async def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/query/v1/suiteql"):
            if queries is not None:
                queries.append(json.loads(request.content)["q"])
            await asyncio.sleep(0.01)  # a round trip: other steps run meanwhile
            items = [{"id": i, "symbol": s} for i, s in currencies]
            return httpx.Response(200, json={"items": items, "hasMore": False, "count": len(items)})
        body = {"id": "7", "currency": {"id": customer_currency, "refName": "whatever the admin typed"}, "balance": 0}
        return httpx.Response(200, json=body)

    return httpx.MockTransport(answer)


async def test_a_currency_added_while_the_worker_runs_is_read_again_once():
    currencies = [("1", "USD")]
    settings = NetSuiteSettings(base_url="https://1234567.suitetalk.api.netsuite.com", auth_mode="bearer")
    async with NetSuiteClient(settings, transport=_account(currencies, "9")) as netsuite:
        await netsuite.currencies()
        currencies.append(("9", "SEK"))  # the administrator adds a currency
        assert (await netsuite.credit_position("7")).balance.currency == "SEK"


async def test_a_currency_id_the_account_does_not_list_is_schema_drift():
    settings = NetSuiteSettings(base_url="https://1234567.suitetalk.api.netsuite.com", auth_mode="bearer")
    async with NetSuiteClient(settings, transport=_account([("1", "USD")], "42")) as netsuite:
        with pytest.raises(SchemaDrift) as info:
            await netsuite.credit_position("7")
    assert (info.value.object, info.value.field) == ("customer", "currency.id")


async def test_concurrent_first_reads_share_one_currency_query():
    """A worker starting under load asks for the list once, not once per step in flight (NetSuite limits the
    requests an account has in flight)."""
    queries: list[str] = []
    settings = NetSuiteSettings(base_url="https://1234567.suitetalk.api.netsuite.com", auth_mode="bearer")
    async with NetSuiteClient(settings, transport=_account([("1", "USD")], "1", queries)) as netsuite:
        positions = await asyncio.gather(*(netsuite.credit_position("7") for _ in range(10)))
    assert {p.balance.currency for p in positions} == {"USD"} and len(queries) == 1
