"""The NetSuite simulator, driven as Oracle's SuiteTalk REST documentation shows.

There is no official Python client that can be pointed here (the `netsuite` package pins an older httpx),
so requests are shaped by hand from the docs (URL beside each test) and OAuth 1.0a requests are signed by
`requests-oauthlib`, a signer independent of the simulator's own RFC 5849 check.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from requests_oauthlib import OAuth1

from simulators.app import create_app
from simulators.context import SimulatorSettings
from simulators.server import BackgroundServer, free_port
from simulators.store import Store

ACCOUNT, CLIENT_ID, CERTIFICATE_ID = "TSTDRV123", "conformance-client", "conformance-cert"
TBA = {"consumer": ("ck-conformance", "cs-conformance"), "token": ("tk-conformance", "ts-conformance")}
RECORDS = "/netsuite/services/rest/record/v1"
TOKEN = "/netsuite/services/rest/auth/oauth2/v1/token"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass
class NetSuiteSim:
    url: str
    store: Store
    settings: SimulatorSettings


@pytest.fixture(scope="module")
def ns_sim() -> Iterator[NetSuiteSim]:
    settings = SimulatorSettings(
        port=free_port(),
        netsuite_account=ACCOUNT,
        netsuite_consumer_key=TBA["consumer"][0],
        netsuite_consumer_secret=TBA["consumer"][1],
        netsuite_token_id=TBA["token"][0],
        netsuite_token_secret=TBA["token"][1],
        netsuite_client_id=CLIENT_ID,
        netsuite_certificate_id=CERTIFICATE_ID,
        netsuite_certificate=PUBLIC_PEM.decode(),
        netsuite_concurrency=20,
    )
    store = Store()
    with BackgroundServer(create_app(settings, store), port=settings.port) as server:
        yield NetSuiteSim(server.url, store, settings)


def oauth1(**overrides: Any) -> OAuth1:
    """TBA as NetSuite documents it: HMAC-SHA256, realm = account id, token and consumer key/secret."""
    options: dict[str, Any] = {
        "client_secret": TBA["consumer"][1],
        "resource_owner_key": TBA["token"][0],
        "resource_owner_secret": TBA["token"][1],
        "signature_method": "HMAC-SHA256",
        "realm": ACCOUNT,
    } | overrides
    return OAuth1(options.pop("client_key", TBA["consumer"][0]), **options)


def error_code(response: Any) -> str:
    return str(response.json()["o:errorDetails"][0]["o:errorCode"])


def new_customer(ns_sim: NetSuiteSim, external_id: str, **fields: Any) -> str:
    response = requests.put(
        f"{ns_sim.url}{RECORDS}/customer/eid:{external_id}",
        json={"companyName": f"Co {external_id}", "currency": {"id": "1"}, **fields},
        auth=oauth1(),
        timeout=10,
    )
    assert response.status_code == 204, response.text
    return response.headers["Location"].rsplit("/", 1)[1]


def new_order(ns_sim: NetSuiteSim, external_id: str, rate: str = "0.10", quantity: int = 3) -> str:
    customer = new_customer(ns_sim, f"cust-{external_id}")
    response = requests.post(
        f"{ns_sim.url}{RECORDS}/salesOrder",
        json={
            "entity": {"id": customer},
            "externalId": external_id,
            "tranDate": "2026-11-25",
            "item": {"items": [{"item": {"externalId": "IMPL-STD"}, "quantity": quantity, "rate": rate}]},
        },
        auth=oauth1(),
        timeout=10,
    )
    assert response.status_code == 204, response.text
    return response.headers["Location"].rsplit("/", 1)[1]


# ---- records ----
def test_create_is_204_with_location_and_no_body(ns_sim):
    """Creating a record instance: 204, the id only in Location.

    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1545141395.html
    """
    response = requests.post(
        f"{ns_sim.url}{RECORDS}/customer",
        json={"companyName": "Created Co", "externalId": "create-1"},
        auth=oauth1(),
        timeout=10,
    )
    assert response.status_code == 204 and response.content == b""
    assert response.headers["Location"].startswith(f"{ns_sim.url}{RECORDS}/customer/")


def test_upsert_by_external_id_creates_then_updates(ns_sim):
    """Upsert: PUT .../eid:{externalId}.

    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156335203191.html
    """
    first = new_customer(ns_sim, "upsert-9")
    assert new_customer(ns_sim, "upsert-9", companyName="Renamed") == first
    read = requests.get(f"{ns_sim.url}{RECORDS}/customer/eid:upsert-9", auth=oauth1(), timeout=10).json()
    assert read["companyName"] == "Renamed" and read["id"] == first


def test_amounts_are_json_numbers_and_sublists_are_links_unless_expanded(ns_sim):
    """Format of sublists: links without expandSubResources.

    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1545141947.html
    """
    order = new_order(ns_sim, "amounts-1")
    plain = requests.get(f"{ns_sim.url}{RECORDS}/salesOrder/{order}", auth=oauth1(), timeout=10)
    body = plain.json(parse_float=Decimal)
    assert body["total"] == Decimal("0.30") and isinstance(body["total"], Decimal)
    assert set(body["item"]) == {"links"}
    assert body["item"]["links"][0]["href"].endswith(f"/salesOrder/{order}/item")
    expanded = requests.get(
        f"{ns_sim.url}{RECORDS}/salesOrder/{order}", params={"expandSubResources": "true"}, auth=oauth1(), timeout=10
    ).json(parse_float=Decimal)
    line = expanded["item"]["items"][0]
    assert line["rate"] == Decimal("0.10") and line["amount"] == Decimal("0.30") and line["quantity"] == 3
    sublist = requests.get(f"{ns_sim.url}{RECORDS}/salesOrder/{order}/item", auth=oauth1(), timeout=10).json()
    assert len(sublist["items"]) == 1


def test_property_name_validation_error_refuses_an_unknown_field_warning_drops_it(ns_sim):
    """`X-NetSuite-PropertyNameValidation`: Error | Warning | Ignore, Warning by default, per the REST API
    Browser's record/v1 OpenAPI description (no prose page found; the error's wording is the simulator's)."""
    customer = new_customer(ns_sim, "names-1")
    url = f"{ns_sim.url}{RECORDS}/customer/{customer}"
    strict = requests.patch(
        url, json={"companyNam": "typo"}, headers={"X-NetSuite-PropertyNameValidation": "Error"}, auth=oauth1()
    )
    assert strict.status_code == 400 and error_code(strict) == "INVALID_CONTENT"
    assert strict.json()["o:errorDetails"][0]["o:errorPath"] == "companyNam"
    lenient = requests.patch(url, json={"companyNam": "typo", "email": "a@b.example"}, auth=oauth1())
    assert lenient.status_code == 204
    read = requests.get(url, auth=oauth1(), timeout=10).json()
    assert "companyNam" not in read and read["email"] == "a@b.example"


def test_lists_page_with_limit_offset_has_more_and_links(ns_sim):
    """Collection paging: limit, offset, count, hasMore, totalResults and rel links.

    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156414087576.html
    """
    for n in range(5):
        new_customer(ns_sim, f"page-{n}")
    seen, offset = [], 0
    while True:
        page = requests.get(
            f"{ns_sim.url}{RECORDS}/customer", params={"limit": 2, "offset": offset}, auth=oauth1(), timeout=10
        ).json()
        assert page["count"] == len(page["items"]) <= 2 and page["offset"] == offset
        seen += [item["id"] for item in page["items"]]
        rels = {link["rel"] for link in page["links"]}
        assert "self" in rels and ("next" in rels) == page["hasMore"]
        if not page["hasMore"]:
            break
        offset += page["count"]
    assert len(seen) == len(set(seen)) == page["totalResults"] >= 5
    too_big = requests.get(f"{ns_sim.url}{RECORDS}/customer", params={"limit": 1001}, auth=oauth1(), timeout=10)
    assert too_big.status_code == 400 and error_code(too_big) == "INVALID_PARAMETER"


def test_transforms_answer_204_with_the_new_records_location(ns_sim):
    """Transforming records: POST .../!transform/invoice.

    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157901123882.html
    """
    order = new_order(ns_sim, "transform-1")
    invoiced = requests.post(
        f"{ns_sim.url}{RECORDS}/salesOrder/{order}/!transform/invoice",
        json={"externalId": "transform-1-inv"},
        auth=oauth1(),
        timeout=10,
    )
    assert invoiced.status_code == 204 and "/invoice/" in invoiced.headers["Location"]
    invoice = invoiced.headers["Location"].rsplit("/", 1)[1]
    credited = requests.post(
        f"{ns_sim.url}{RECORDS}/invoice/{invoice}/!transform/creditMemo", json={}, auth=oauth1(), timeout=10
    )
    assert credited.status_code == 204 and "/creditMemo/" in credited.headers["Location"]
    read = requests.get(f"{ns_sim.url}{RECORDS}/invoice/{invoice}", auth=oauth1(), timeout=10).json(parse_float=Decimal)
    assert read["amountRemaining"] == 0 and read["total"] == Decimal("0.30")


def test_an_order_whose_total_is_negative_is_refused(ns_sim):
    """ "The total cannot be negative" (Troubleshooting Negative Total Error).

    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_164206526447.html
    """
    customer = new_customer(ns_sim, "cust-negative-order")
    response = requests.post(
        f"{ns_sim.url}{RECORDS}/salesOrder",
        json={
            "entity": {"id": customer},
            "externalId": "negative-order",
            "item": {"items": [{"item": {"externalId": "IMPL-STD"}, "quantity": 1, "rate": "-5.00"}]},
        },
        auth=oauth1(),
        timeout=10,
    )
    assert response.status_code == 400 and error_code(response) == "USER_ERROR"
    assert "total cannot be negative" in response.json()["o:errorDetails"][0]["detail"]
    assert not ns_sim.store.find("netsuite", "salesOrder", "externalId", "negative-order")


def test_a_return_authorization_of_its_own_posts_nothing_and_is_cancelled_while_pending(ns_sim):
    """A standalone returnAuthorization (entity and item lines, not created from a sale): 204 + Location, Pending
    Receipt, no balance moved (a non-posting transaction); `orderStatus` C cancels it, and a second time is no
    change. REST API Browser, record `returnAuthorization`; create as in Creating a Record Instance.

    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1545141395.html
    """
    customer = new_customer(ns_sim, "cust-return")
    made = requests.post(
        f"{ns_sim.url}{RECORDS}/returnAuthorization",
        json={
            "entity": {"id": customer},
            "externalId": "return-1",
            "currency": {"id": "1"},
            "item": {"items": [{"item": {"externalId": "IMPL-STD"}, "quantity": 1, "rate": "12.34"}]},
        },
        auth=oauth1(),
        headers={"X-NetSuite-PropertyNameValidation": "Error"},
        timeout=10,
    )
    assert made.status_code == 204 and "/returnAuthorization/" in made.headers["Location"], made.text
    ref = made.headers["Location"].rsplit("/", 1)[1]
    url = f"{ns_sim.url}{RECORDS}/returnAuthorization/{ref}"
    read = requests.get(url, auth=oauth1(), timeout=10).json(parse_float=Decimal)
    assert read["total"] == Decimal("12.34") and read["orderStatus"]["refName"] == "Pending Receipt"
    balance = requests.get(f"{ns_sim.url}{RECORDS}/customer/{customer}", auth=oauth1(), timeout=10).json()["balance"]
    assert Decimal(str(balance)) == 0
    for _ in range(2):
        cancelled = requests.patch(url, json={"orderStatus": {"id": "C"}}, auth=oauth1(), timeout=10)
        assert cancelled.status_code == 204, cancelled.text
    assert requests.get(url, auth=oauth1(), timeout=10).json()["orderStatus"]["refName"] == "Cancelled"
    closed = requests.patch(url, json={"orderStatus": {"id": "H"}}, auth=oauth1(), timeout=10)
    assert closed.status_code == 400 and error_code(closed) == "USER_ERROR"  # a cancelled return stays cancelled


def test_every_error_has_netsuites_body_unknown_routes_included(ns_sim):
    """Error handling: type, title, status, o:errorDetails.

    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156570709583.html
    """
    for method, path in [
        ("GET", f"{RECORDS}/customer/999999"),
        ("GET", f"{RECORDS}/noSuchRecord/1"),
        ("GET", "/netsuite/services/rest/nowhere"),
        ("DELETE", f"{RECORDS}/salesOrder/1/!transform/invoice"),
    ]:
        response = requests.request(method, ns_sim.url + path, auth=oauth1(), timeout=10)
        body = response.json()
        assert response.status_code in (404, 405) and body["status"] == response.status_code, (path, body)
        assert {"type", "title", "status", "o:errorDetails"} <= set(body)
        assert {"detail", "o:errorCode"} <= set(body["o:errorDetails"][0])


# ---- SuiteQL ----
def suiteql(ns_sim: NetSuiteSim, query: str, **params: Any) -> requests.Response:
    """POST /query/v1/suiteql, Prefer: transient, {"q": ...}.

    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
    """
    return requests.post(
        f"{ns_sim.url}/netsuite/services/rest/query/v1/suiteql",
        params=params,
        json={"q": query},
        headers={"Prefer": "transient"},
        auth=oauth1(),
        timeout=10,
    )


def test_suiteql_selects_by_external_id_and_date_window_and_pages(ns_sim):
    for n in range(3):
        new_order(ns_sim, f"ql-{n}")
    query = (
        "SELECT id, externalid, trandate, foreigntotal FROM transaction WHERE type = 'SalesOrd' "
        "AND externalid LIKE 'ql-%' AND trandate >= TO_DATE('2026-11-01', 'YYYY-MM-DD') ORDER BY id"
    )
    first = suiteql(ns_sim, query, limit=2).json()
    assert first["count"] == 2 and first["hasMore"] and first["totalResults"] == 3
    rest = suiteql(ns_sim, query, limit=2, offset=2).json()
    rows = first["items"] + rest["items"]
    assert [r["externalid"] for r in rows] == ["ql-0", "ql-1", "ql-2"] and not rest["hasMore"]
    assert rows[0]["trandate"] == "11/25/2026" and rows[0]["foreigntotal"] == "0.30"
    none = suiteql(ns_sim, query.replace("2026-11-01", "2027-01-01")).json()
    assert none["totalResults"] == 0


def test_suiteql_ors_external_ids_and_answers_a_currency_as_its_internal_id(ns_sim):
    """A page of sagas' orders in one query: `(externalid LIKE 'a%' OR externalid = 'b')`. A reference column
    answers the record's internal id, a currency's ISO code is `currency.symbol`
    (https://timdietrich.me/blog/netsuite-suiteql-currency-exchange-rates); numbers come back as strings."""
    for name in ("or-a:1", "or-a:2", "or-b:1", "or-c:1"):
        new_order(ns_sim, name)
    query = (
        "SELECT id, externalid, currency, foreigntotal, status FROM transaction WHERE type IN ('SalesOrd') "
        "AND (externalid LIKE 'or-a:%' OR externalid = 'or-b:1') ORDER BY id"
    )
    rows = suiteql(ns_sim, query).json()["items"]
    assert [r["externalid"] for r in rows] == ["or-a:1", "or-a:2", "or-b:1"]
    assert {r["currency"] for r in rows} == {"1"} and all(isinstance(r["foreigntotal"], str) for r in rows)
    assert rows[0]["foreigntotal"] == "0.30" and rows[0]["status"] == "B"
    currencies = suiteql(ns_sim, "SELECT id, symbol FROM currency WHERE symbol = 'USD'").json()["items"]
    assert [(c["id"], c["symbol"]) for c in currencies] == [("1", "USD")]


def test_suiteql_item_answers_a_custom_field_by_script_id_and_leaves_nulls_out(ns_sim):
    """SuiteQL via REST (section_157909186990): a custom field is a column named by its lower-case script id,
    values are strings, a checkbox is "T"/"F", a null column is left out of its row, and a column the record
    lacks is refused with 400 naming it."""
    retired = {"id": "9801", "externalId": "QL-RETIRED", "itemId": "QL-RETIRED", "isInactive": True}
    ns_sim.store.put("netsuite", "nonInventorySaleItem", "9801", {**retired, "custitem_q2c_service_tier": ""})
    query = (
        "SELECT id, externalid, isinactive, custitem_q2c_service_tier FROM item "
        "WHERE externalid IN ('PLAT-PRO', 'IMPL-STD', 'QL-RETIRED', 'NO-SUCH') ORDER BY id"
    )
    items = suiteql(ns_sim, query).json()["items"]
    rows = {row["externalid"]: {k: v for k, v in row.items() if k != "links"} for row in items}
    assert set(rows) == {"PLAT-PRO", "IMPL-STD", "QL-RETIRED"}
    assert rows["PLAT-PRO"]["custitem_q2c_service_tier"] == "premium" and rows["PLAT-PRO"]["isinactive"] == "F"
    assert set(rows["IMPL-STD"]) == {"id", "externalid", "isinactive"}  # no tier: the null column is left out
    assert rows["QL-RETIRED"] == {"id": "9801", "externalid": "QL-RETIRED", "isinactive": "T"}
    assert all(isinstance(value, str) for row in rows.values() for value in row.values())
    refused = suiteql(ns_sim, "SELECT id, custitem_no_such FROM item WHERE externalid IN ('PLAT-PRO')")
    assert refused.status_code == 400 and error_code(refused) == "INVALID_PARAMETER"
    detail = refused.json()["o:errorDetails"][0]["detail"]
    assert "Field 'custitem_no_such' for record 'item' was not found." in detail


def test_suiteql_reaches_at_most_100000_rows(ns_sim):
    """ "Using SuiteQL queries, you can return a maximum of 100,000 results" (section_157909186990)."""
    response = suiteql(ns_sim, "SELECT id FROM customer", limit=1000, offset=100_000)
    assert response.status_code == 400 and error_code(response) == "INVALID_PARAMETER"
    assert suiteql(ns_sim, "SELECT id FROM customer", limit=1000, offset=99_000).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "SELECT id FROM transaction t JOIN customer c ON t.entity = c.id",
        "SELECT COUNT(*) FROM transaction",
        "DELETE FROM customer",
        "SELECT nosuchfield FROM customer",
    ],
)
def test_suiteql_outside_the_supported_subset_is_refused_with_netsuites_error(ns_sim, query):
    response = suiteql(ns_sim, query)
    assert response.status_code == 400 and error_code(response) == "INVALID_PARAMETER"


def test_suiteql_needs_prefer_transient(ns_sim):
    response = requests.post(
        f"{ns_sim.url}/netsuite/services/rest/query/v1/suiteql",
        json={"q": "SELECT id FROM customer"},
        auth=oauth1(),
        timeout=10,
    )
    assert response.status_code == 400 and response.json()["o:errorDetails"][0]["o:errorHeader"] == "Prefer"
