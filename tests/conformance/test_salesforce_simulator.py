"""The Salesforce simulator driven by simple-salesforce, the client the field uses against Salesforce's REST
API, and by httpx where the call is OAuth's. Each behaviour cites the Salesforce doc it comes from
(docs/conformance/salesforce.md has the table)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import httpx
import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from defusedxml import ElementTree
from fastapi import FastAPI, Request
from fastapi.responses import Response
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from simulators.salesforce.ids import checksum, is_valid
from simulators.salesforce.outbound import OUTBOUND_NS
from simulators.server import BackgroundServer, free_port

VERSION = "62.0"
ACK = (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    f'<soapenv:Body><notificationsResponse xmlns="{OUTBOUND_NS}"><Ack>{{ack}}</Ack></notificationsResponse>'
    "</soapenv:Body></soapenv:Envelope>"
)


class ToSimulator(HTTPAdapter):
    """simple-salesforce speaks https to *.salesforce.com and the instance; here both are the simulator."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = urlsplit(base)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        url = urlsplit(request.url or "")
        path = url.path
        if url.hostname and url.hostname.endswith("salesforce.com"):
            path = "/salesforce" + path
        request.url = urlunsplit(("http", self.base.netloc, path, url.query, ""))
        return super().send(request, **kwargs)


def first_error(error: Exception) -> dict[str, Any]:
    """simple-salesforce keeps Salesforce's error array as `content`."""
    content: Any = vars(error).get("content")
    return cast(list[dict[str, Any]], content)[0]


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture
def session(sim: Any) -> requests.Session:
    web = requests.Session()
    web.mount("https://", ToSimulator(sim.url))
    return web


@pytest.fixture
def sf(sim: Any, key_pair: tuple[str, str], session: requests.Session) -> Iterator[Salesforce]:
    """Logged in the way a production integration logs in: the JWT bearer flow, by simple-salesforce itself."""
    settings = sim.app.state.ctx.settings
    sim.store.set_setting("salesforce_jwt_public_key", key_pair[1])
    session_id, instance = SalesforceLogin(
        username=settings.salesforce_username,
        consumer_key=settings.salesforce_client_id,
        privatekey=key_pair[0],
        domain="login",
        session=session,
    )
    yield Salesforce(session_id=session_id, instance=instance, version=VERSION, session=session)
    sim.store.set_setting("salesforce_daily_limit", settings.salesforce_daily_limit)
    sim.store.set_setting("salesforce_session_ttl_s", settings.salesforce_session_ttl_s)


def test_ids_are_18_characters_with_salesforces_checksum():
    # https://help.salesforce.com/s/articleView?id=000385008 (15- and 18-character ids): the documented example.
    assert checksum("001D000000IqhSL") == "IAZ"
    assert is_valid("001D000000IqhSLIAZ") and not is_valid("001D000000IqhS!")


def test_jwt_bearer_refuses_a_wrong_audience_user_or_key(sim, key_pair):
    # https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm
    settings = sim.app.state.ctx.settings
    sim.store.set_setting("salesforce_jwt_public_key", key_pair[1])
    claims = {
        "iss": settings.salesforce_client_id,
        "sub": settings.salesforce_username,
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 120,
    }

    def token(payload: dict[str, Any], key: str = key_pair[0]) -> httpx.Response:
        assertion = jwt.encode(payload, key, algorithm="RS256")
        return httpx.post(
            f"{sim.url}/salesforce/services/oauth2/token",
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
        )

    ok = token(claims)
    assert ok.status_code == 200, ok.text
    assert {"access_token", "instance_url", "token_type", "id", "issued_at"} <= ok.json().keys()
    assert token({**claims, "aud": "https://evil.example"}).json() == {
        "error": "invalid_grant",
        "error_description": "audience is invalid",
    }
    assert token({**claims, "sub": "someone@else.example"}).json()["error"] == "invalid_grant"
    assert token({**claims, "iss": "not-our-app"}).json()["error"] == "invalid_client_id"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert token(claims, other.decode()).json()["error"] == "invalid_grant"


def test_client_credentials_answer_a_signature_and_issued_at(sim):
    # https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm
    settings = sim.app.state.ctx.settings
    answer = httpx.post(
        f"{sim.url}/salesforce/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": settings.salesforce_client_id,
            "client_secret": settings.salesforce_client_secret,
        },
    )
    assert answer.status_code == 200
    assert {"access_token", "instance_url", "signature", "issued_at", "token_type"} <= answer.json().keys()
    wrong = httpx.post(
        f"{sim.url}/salesforce/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": settings.salesforce_client_id, "client_secret": "x"},
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_client"


def test_create_read_update_and_describe(sf):
    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_create.htm
    created = sf.Account.create({"Name": "Conformance Ltd", "CurrencyIsoCode": "GBP", "Region__c": "uk"})
    assert created["success"] is True and created["errors"] == [] and len(created["id"]) == 18
    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_get_field_values.htm
    record = sf.Account.get(created["id"])
    assert record["attributes"]["type"] == "Account" and record["Name"] == "Conformance Ltd"
    assert sf.Account.update(created["id"], {"VAT_Number__c": "GB123456789"}) == 204
    assert sf.Account.get(created["id"])["VAT_Number__c"] == "GB123456789"
    opportunity = sf.Opportunity
    described = opportunity.describe()
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["Amount"]["type"] == "currency" and fields["ERP_Order_Number__c"]["custom"] is True
    assert any(r["relationshipName"] == "OpportunityLineItems" for r in described["childRelationships"])
    usage = opportunity.api_usage["api-usage"]  # simple-salesforce reads Sforce-Limit-Info from each response
    assert 0 < usage.used <= usage.total


def test_upsert_by_external_id_answers_201_then_200_and_300_when_several_match(sf):
    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_upsert.htm
    assert sf.Account.upsert("External_Id__c/EXT-1", {"Name": "Upserted Inc."}) == 201
    assert sf.Account.upsert("External_Id__c/EXT-1", {"Name": "Upserted Inc. (renamed)"}) == 200
    assert sf.Account.get_by_custom_id("External_Id__c", "EXT-1")["Name"] == "Upserted Inc. (renamed)"
    for name in ("Twin A", "Twin B"):
        sf.Account.create({"Name": name, "ERP_Customer_Id__c": "ERP-TWIN"})
    with pytest.raises(SalesforceMoreThanOneRecord) as raised:
        sf.Account.upsert("ERP_Customer_Id__c/ERP-TWIN", {"Name": "Which one?"})
    assert raised.value.status == 300 and len(raised.value.content) == 2


def test_soql_pages_with_next_records_url_and_reads_children_and_parents(sf, sim):
    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm
    opportunities = sim.manifest["salesforce"]["deals"]["ordinary"]
    sf.headers["Sforce-Query-Options"] = "batchSize=200"
    first = sf.query("SELECT Id FROM OpportunityLineItem")
    assert first["done"] is False and first["nextRecordsUrl"].startswith(f"/services/data/v{VERSION}/query/")
    everything = sf.query_all("SELECT Id, Quantity FROM OpportunityLineItem")
    assert everything["totalSize"] == len(everything["records"]) > 200
    del sf.headers["Sforce-Query-Options"]
    # https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_relationships_query_using.htm
    found = sf.query(
        "SELECT Id, Amount, CurrencyIsoCode, Account.Name, (SELECT Quantity, UnitPrice, ProductCode FROM "
        f"OpportunityLineItems ORDER BY ProductCode) FROM Opportunity WHERE Id = '{opportunities[0]}'"
    )["records"][0]
    lines = found["OpportunityLineItems"]["records"]
    assert found["Account"]["Name"] and lines and all(line["ProductCode"] for line in lines)
    assert sum(line["Quantity"] * line["UnitPrice"] for line in lines) == found["Amount"]  # JSON numbers
    won = sf.query("SELECT COUNT() FROM Opportunity WHERE StageName = 'Closed Won' AND IsWon = true")
    assert won["records"] == [] and isinstance(won["totalSize"], int)


def test_errors_are_salesforce_json_arrays(sf, sim):
    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
    with pytest.raises(SalesforceMalformedRequest) as bad_field:
        sf.query("SELECT Nope__c FROM Opportunity")
    assert first_error(bad_field.value)["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as missing:
        sf.Opportunity.create({"Name": "no stage"})
    assert first_error(missing.value)["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert set(first_error(missing.value)["fields"]) == {"StageName", "CloseDate"}
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get("001000000000000AAA")
    unknown = httpx.get(f"{sim.url}/salesforce/services/data/v{VERSION}/nothing/here", headers=sf.headers)
    assert unknown.status_code == 404 and unknown.json()[0]["errorCode"] == "NOT_FOUND"
    # https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm
    sim.store.set_setting("salesforce_daily_limit", 1)
    with pytest.raises(SalesforceRefusedRequest) as limited:
        sf.Account.describe()
    assert limited.value.status == 403 and first_error(limited.value)["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_an_expired_session_answers_invalid_session_id(sf, sim):
    sim.store.set_setting("salesforce_session_ttl_s", 0)
    with pytest.raises(SalesforceExpiredSession) as expired:
        sf.Account.describe()
    assert first_error(expired.value) == {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}


def test_composite_all_or_none_rolls_back_and_references_earlier_results(sf, sim):
    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_composite.htm
    base = f"/services/data/v{VERSION}"
    ok = sf.restful(
        "composite",
        method="POST",
        json={
            "allOrNone": True,
            "compositeRequest": [
                {"method": "POST", "url": f"{base}/sobjects/Account", "referenceId": "acct", "body": {"Name": "Comp"}},
                {
                    "method": "POST",
                    "url": f"{base}/sobjects/Contact",
                    "referenceId": "person",
                    "body": {"LastName": "Hopper", "AccountId": "@{acct.id}"},
                },
            ],
        },
    )
    assert [r["httpStatusCode"] for r in ok["compositeResponse"]] == [201, 201]
    before = len(sim.store.all("salesforce", "Account"))
    failed: Any = sf.restful(
        "composite",
        method="POST",
        json={
            "allOrNone": True,
            "compositeRequest": [
                {"method": "POST", "url": f"{base}/sobjects/Account", "referenceId": "a", "body": {"Name": "Gone"}},
                {"method": "POST", "url": f"{base}/sobjects/Contact", "referenceId": "b", "body": {"FirstName": "x"}},
            ],
        },
    )["compositeResponse"]
    assert failed[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert failed[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert len(sim.store.all("salesforce", "Account")) == before  # rolled back


def test_sobject_collections_answer_per_record(sf):
    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_create.htm
    answer: Any = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Account"}, "Name": "Coll One"},
                {"attributes": {"type": "Account"}, "Nope__c": "x"},
            ],
        },
    )
    assert answer[0]["success"] is True
    assert answer[1]["success"] is False and answer[1]["errors"][0]["statusCode"] == "INVALID_FIELD"


def test_a_won_opportunity_sends_an_outbound_message_until_acknowledged(sim):
    # https://help.salesforce.com/s/articleView?id=sf.workflow_om_considerations.htm (resent until acknowledged)
    received: list[bytes] = []
    receiver = FastAPI()

    @receiver.post("/om")
    async def om(request: Request) -> Response:
        received.append(await request.body())
        ack = "true" if len(received) > 1 else "false"  # the first delivery is not acknowledged
        return Response(ACK.format(ack=ack), media_type="text/xml")

    seeded = sim.store.get("salesforce", "Opportunity", sim.manifest["salesforce"]["deals"]["ordinary"][1])
    # an opportunity of this test's own: the seeded ones are the demo's, and must stay open
    opportunity = sim.app.state.apps["salesforce"].state.records.create(
        "Opportunity", {k: seeded[k] for k in ("Name", "AccountId", "StageName", "CloseDate", "CurrencyIsoCode")}
    )["Id"]
    with BackgroundServer(receiver, port=free_port()) as server:
        sim.admin.put("/webhooks/salesforce", json={"url": f"{server.url}/om"}).raise_for_status()
        sim.admin.post(f"/salesforce/opportunities/{opportunity}/close").raise_for_status()
        deadline = time.monotonic() + 10
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        sim.admin.put("/webhooks/salesforce", json={"url": None}).raise_for_status()
    assert len(received) == 2
    root = ElementTree.fromstring(received[0])
    notifications = root.find(f".//{{{OUTBOUND_NS}}}notifications")
    assert notifications is not None
    org = notifications.find(f"{{{OUTBOUND_NS}}}OrganizationId")
    assert org is not None and org.text == sim.app.state.ctx.settings.salesforce_org_id
    ids = [e.text for e in root.iter("{urn:sobject.enterprise.soap.sforce.com}Id")]
    stages = [e.text for e in root.iter("{urn:sobject.enterprise.soap.sforce.com}StageName")]
    assert ids == [opportunity] and stages == ["Closed Won"]


def test_an_injected_fault_comes_back_in_salesforces_error_shape(sf, sim):
    sim.fault(
        system="salesforce",
        kind="error",
        method="GET",
        path="/services/data/*/sobjects/Account/describe",
        status=503,
        code="SERVER_UNAVAILABLE",
        count=1,
    )
    answer = httpx.get(f"{sim.url}/salesforce/services/data/v{VERSION}/sobjects/Account/describe", headers=sf.headers)
    assert answer.status_code == 503 and answer.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
