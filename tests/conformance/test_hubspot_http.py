"""The HubSpot simulator over plain HTTP, requests shaped as HubSpot's docs show them (URL beside each test)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from connectors.hubspot import webhooks as hubspot_webhooks
from simulators.app import create_app
from simulators.context import SimulatorSettings
from simulators.server import BackgroundServer, free_port
from simulators.store import Store
from tests.test_simulators import Receiver

HS = {"Authorization": "Bearer pat-na1-q2c-dev"}
LIMIT_HEADERS = ("max", "remaining", "interval-milliseconds", "daily", "daily-remaining")


@pytest.fixture
def http(sim) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{sim.url}/hubspot", timeout=10) as client:
        yield client


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_properties_and_associations_as_comma_list_or_repeated_are_the_same(http, sim):
    """https://developers.hubspot.com/docs/api/crm/deals (properties, associations)."""
    deal = sim.manifest["deals"]["existing"][0]
    comma = http.get(
        f"/crm/v3/objects/deals/{deal}",
        params={"properties": "dealname,amount,dealstage", "associations": "companies,line_items"},
        headers=HS,
    ).json()
    repeated = http.get(
        f"/crm/v3/objects/deals/{deal}?properties=dealname&properties=amount&properties=dealstage"
        "&associations=companies&associations=line_items",
        headers=HS,
    ).json()
    assert comma == repeated
    assert {"dealname", "amount", "dealstage"} <= set(repeated["properties"])
    assert set(repeated["associations"]) == {"companies", "line_items"}


@pytest.mark.parametrize(("method", "path"), [("GET", "/crm/v3/nothing/here"), ("PUT", "/crm/v3/objects/deals")])
def test_unknown_routes_get_hubspots_error_body_not_the_frameworks(http, method, path):
    """https://developers.hubspot.com/docs/api-reference/error-handling (error body fields)."""
    response = http.request(method, path, headers=HS)
    body = response.json()
    assert response.status_code in (404, 405) and "detail" not in body
    assert body["status"] == "error" and body["message"] and body["correlationId"] and body["category"]


def test_401_has_hubspots_body_and_rate_limit_headers_are_on_every_answer(http, sim):
    """https://developers.hubspot.com/docs/api/usage-details (X-HubSpot-RateLimit-*)."""
    unauthorized = http.get("/crm/v3/objects/deals", headers={"Authorization": "Bearer wrong"})
    assert unauthorized.status_code == 401
    assert unauthorized.json()["category"] == "INVALID_AUTHENTICATION" and "detail" not in unauthorized.json()
    ok = http.get("/crm/v3/objects/deals", headers=HS)
    missing = http.get("/crm/v3/objects/deals/404404", headers=HS)
    refused = http.post("/crm/v3/objects/deals", headers=HS, json={"properties": {"nope": "1"}})
    for _ in range(3):  # an earlier test's request leaving the rolling 10 s window between the two adds one back
        before = http.get("/crm/v3/objects/deals", headers=HS)
        searched = http.post("/crm/v3/objects/deals/search", headers=HS, json={"limit": 1})
        remaining = int(searched.headers["x-hubspot-ratelimit-remaining"])
        if remaining < int(before.headers["x-hubspot-ratelimit-remaining"]):
            break
    else:
        raise AssertionError("a search does not count against the rate limit")  # never lower, three times over
    for response in (unauthorized, ok, missing, refused, searched):
        for name in LIMIT_HEADERS:
            assert response.headers[f"x-hubspot-ratelimit-{name}"].isdigit(), (response.request.url, name)
    assert (missing.status_code, refused.status_code) == (404, 400)
    sim.fault(system="hubspot", kind="error", status=503, count=1)  # an outage the fault injector renders
    outage = http.get("/crm/v3/objects/deals", headers=HS)
    assert outage.status_code == 503 and outage.json()["category"] == "INTERNAL_ERROR"
    assert all(outage.headers[f"x-hubspot-ratelimit-{name}"].isdigit() for name in LIMIT_HEADERS)


def test_a_deal_entering_closed_won_gets_its_close_date_and_stage_entry_time(http, sim):
    """https://knowledge.hubspot.com/crm-deals/hubspots-default-deal-properties ("Close date" is set
    when a deal moves into a closed-won stage)."""
    created = http.post(
        "/crm/v3/objects/deals",
        headers=HS,
        json={"properties": {"dealname": "Closing", "dealstage": "contractsent", "closedate": "2031-12-31"}},
    ).json()
    names = "closedate,hs_date_entered_closedwon,hs_lastmodifieddate,dealstage"
    before = datetime.now(UTC)
    http.patch(f"/crm/v3/objects/deals/{created['id']}", headers=HS, json={"properties": {"dealstage": "closedwon"}})
    after = datetime.now(UTC)
    won = http.get(f"/crm/v3/objects/deals/{created['id']}", params={"properties": names}, headers=HS).json()
    p = won["properties"]
    assert before.replace(microsecond=0) <= moment(p["closedate"]) <= after  # not the planned 2031-12-31
    assert p["hs_date_entered_closedwon"] == p["closedate"] == p["hs_lastmodifieddate"]
    # Saving it again in the same stage moves nothing but the modification time.
    http.patch(f"/crm/v3/objects/deals/{created['id']}", headers=HS, json={"properties": {"dealstage": "closedwon"}})
    again = http.get(f"/crm/v3/objects/deals/{created['id']}", params={"properties": names}, headers=HS).json()
    assert again["properties"]["closedate"] == p["closedate"]
    # A close date written together with the stage change is the one kept.
    other = http.post(
        "/crm/v3/objects/deals", headers=HS, json={"properties": {"dealname": "Backdated", "dealstage": "contractsent"}}
    ).json()
    http.patch(
        f"/crm/v3/objects/deals/{other['id']}",
        headers=HS,
        json={"properties": {"dealstage": "closedwon", "closedate": "2026-01-15"}},
    )
    kept = http.get(f"/crm/v3/objects/deals/{other['id']}", params={"properties": names}, headers=HS).json()
    assert kept["properties"]["closedate"].startswith("2026-01-15") and kept["properties"]["hs_date_entered_closedwon"]


def test_closed_won_webhook_is_signed_v3_and_sent_once_per_entry(http, sim):
    """https://developers.hubspot.com/docs/api/webhooks/validating-requests (v3 and v1 signatures)."""
    receiver = Receiver(failures=0)
    with receiver.server:
        sim.admin.put("/webhooks/hubspot", json={"url": receiver.url, "secret": "conformance"})
        try:
            deal = http.post(
                "/crm/v3/objects/deals", headers=HS, json={"properties": {"dealname": "Hook", "dealstage": "qualified"}}
            ).json()["id"]
            for _ in range(2):  # the second save is no new entry into closed-won
                http.patch(f"/crm/v3/objects/deals/{deal}", headers=HS, json={"properties": {"dealstage": "closedwon"}})
            deadline = time.monotonic() + 10
            while not receiver.received and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)
        finally:
            sim.admin.put("/webhooks/hubspot", json={"url": None})
    mine = [r for r in receiver.received if json.loads(r[1])[0]["objectId"] == int(deal)]
    assert len(mine) == 1
    headers, body, url = mine[0]
    hubspot_webhooks.verify(
        "conformance", "POST", url, body, headers["x-hubspot-signature-v3"], headers["x-hubspot-request-timestamp"]
    )
    assert json.loads(body)[0]["propertyName"] == "dealstage"
    # CRM-object events from the webhooks API also carry the v1 signature: sha256(app secret + body), hex.
    assert headers["x-hubspot-signature-version"] == "v1"
    assert headers["x-hubspot-signature"] == hashlib.sha256(b"conformance" + body).hexdigest()


def test_search_limits_are_refused_as_hubspot_does(http):
    """https://developers.hubspot.com/changelog/breaking-change-expanded-filtering-capabilities-and-error-messaging-in-hubspots-search-api
    (5 filter groups)."""
    group = {"filters": [{"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}]}
    too_many_groups = http.post("/crm/v3/objects/deals/search", headers=HS, json={"filterGroups": [group] * 6})
    assert too_many_groups.status_code == 400 and too_many_groups.json()["category"] == "VALIDATION_ERROR"
    bad_operator = {"filters": [{"propertyName": "amount", "operator": "ABOUT", "value": "1"}]}
    assert (
        http.post("/crm/v3/objects/deals/search", headers=HS, json={"filterGroups": [bad_operator]}).status_code == 400
    )


@pytest.fixture(scope="module")
def crowded() -> Iterator[tuple[str, Store]]:
    """A simulator of its own holding 10,001 contacts, so the shared one's searches stay small."""
    port, store = free_port(), Store()
    app = create_app(SimulatorSettings(port=port, seed=False), store)
    stamp = "2026-11-01T00:00:00.000Z"
    for n in range(10_001):
        record_id = str(1_000_000 + n)
        properties = {"email": f"c{n}@crowd.example", "lastname": "Crowd"}
        record = {"id": record_id, "properties": properties, "createdAt": stamp, "updatedAt": stamp, "archived": False}
        store.put("hubspot", "contacts", record_id, record)
    with BackgroundServer(app, port=port) as server:
        yield f"{server.url}/hubspot", store


def test_search_stops_at_10000_results_per_query(crowded):
    """https://developers.hubspot.com/docs/api/crm/search ("limited to 10,000 total results ...
    paging beyond 10,000 results in a 400 error")."""
    url, _ = crowded
    query = {"filterGroups": [{"filters": [{"propertyName": "lastname", "operator": "EQ", "value": "Crowd"}]}]}
    with httpx.Client(base_url=url, headers=HS, timeout=30) as http:
        last = http.post("/crm/v3/objects/contacts/search", json={**query, "limit": 200, "after": "9800"})
        assert last.status_code == 200 and last.json()["total"] == 10_001 and len(last.json()["results"]) == 200
        assert "paging" not in last.json()  # the 10,000th result is the last one a query reaches
        edge = http.post("/crm/v3/objects/contacts/search", json={**query, "limit": 200, "after": "9990"}).json()
        assert len(edge["results"]) == 10 and "paging" not in edge  # the 10,001st is out of this query's reach
        past = http.post("/crm/v3/objects/contacts/search", json={**query, "limit": 10, "after": "10000"})
        assert past.status_code == 400 and "10000" in past.json()["message"]
        listed = http.get("/crm/v3/objects/contacts", params={"limit": 100, "after": "1009950"}).json()
        assert len(listed["results"]) == 51 and "paging" not in listed  # the list endpoint has no such limit
