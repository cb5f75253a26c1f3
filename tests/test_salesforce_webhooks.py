"""The Outbound Message listener: `Ack` only once Temporal holds the start; bad input refused, nothing started."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from defusedxml import ElementTree
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from connectors.registry import Roles
from infra.settings import Q2CSettings
from models.common import LifecycleStage, System
from models.customer_sync import LIFECYCLE, CustomerChange, CustomerRecord
from models.saga import SagaInput
from simulators.salesforce import outbound
from workers.ingress import create_ingress

ORG = "00D5g000004q2cDEAQ"  # SalesforceSettings' default org
OPPORTUNITY = "0065g00000AbCdEAAZ"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "http://soap.sforce.com/2005/09/outbound"


def notification(record_id: str = OPPORTUNITY, kind: str = "Opportunity", **fields: str) -> str:
    values = {"Id": record_id, "StageName": "Closed Won", "Amount": "12000.50", "CurrencyIsoCode": "EUR", **fields}
    body = "".join(f"<sf:{name}>{value}</sf:{name}>" for name, value in values.items())
    return (
        f"<Notification><Id>04l5g0000{uuid.uuid4().hex[:9]}</Id>"
        f'<sObject xsi:type="sf:{kind}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">{body}</sObject>'
        "</Notification>"
    )


def message(*notifications: str, org: str = ORG, prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<soapenv:Envelope xmlns:soapenv="{SOAP}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f'<soapenv:Body><notifications xmlns="{NS}"><OrganizationId>{org}</OrganizationId>'
        '<ActionId>04k5g000000q2cAAA</ActionId><SessionId xsi:nil="true"/>'
        f"<EnterpriseUrl>https://q2c.my.salesforce.com/services/Soap/c/62.0/{org}</EnterpriseUrl>"
        f"{''.join(notifications or (notification(),))}</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


def acked(response: httpx.Response) -> bool:
    ack = ElementTree.fromstring(response.content).find(f".//{{{NS}}}Ack")
    return response.status_code == 200 and ack is not None and ack.text == "true"


def fault(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("text/xml")
    found = ElementTree.fromstring(response.content).find(f".//{{{SOAP}}}Fault/faultstring")
    assert found is not None and found.text, response.text
    return found.text


def listener(client: Any, task_queue: str = "q2c") -> httpx.AsyncClient:
    settings = Q2CSettings(task_queue=task_queue, ingress_max_body_bytes=8192)
    app = create_ingress(settings, client=client, roles=Roles(crm="hubspot", crms=("hubspot", "salesforce")))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingress.test")


@pytest.fixture
async def task_queue() -> str:
    return f"q2c-unpolled-{uuid.uuid4().hex[:8]}"  # no worker: a started saga waits, for us to look at


@pytest.fixture
async def ingress(ts_env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[httpx.AsyncClient]:
    async with listener(ts_env.client, task_queue) as client:
        yield client


async def post(ingress: httpx.AsyncClient, body: bytes) -> httpx.Response:
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
    return await ingress.post("/webhooks/salesforce", content=body, headers=headers)


async def started(client: Client, opportunity_id: str) -> bool:
    try:
        await client.get_workflow_handle(f"q2c-salesforce-{opportunity_id}").describe()
    except RPCError as error:
        assert error.status is RPCStatusCode.NOT_FOUND
        return False
    return True


def fresh_id() -> str:
    return "0065g" + uuid.uuid4().hex[:13].upper()


async def test_a_closed_won_opportunity_is_acked_once_its_saga_is_started_and_a_resend_joins_it(ingress, ts_env):
    opportunity_id = fresh_id()
    body = message(notification(opportunity_id))
    response = await post(ingress, body)
    assert acked(response), response.text
    handle = ts_env.client.get_workflow_handle(f"q2c-salesforce-{opportunity_id}")
    first = await handle.describe()
    again = await post(ingress, body)  # Salesforce resends: the same saga, not a second one
    assert acked(again) and (await handle.describe()).run_id == first.run_id
    [start] = (await handle.fetch_history()).events[:1]
    payload = start.workflow_execution_started_event_attributes.input.payloads[0].data
    saga = SagaInput.model_validate_json(payload)
    assert (saga.crm, saga.deal_id) == ("salesforce", opportunity_id)
    assert saga.triggered_by.startswith("outbound_message:04l5g0000")
    await handle.terminate("test done")


async def test_the_simulators_own_outbound_message_is_acked(ingress, sim, ts_env):
    opportunity_id = fresh_id()
    record = {"Id": opportunity_id, "Name": "sim", "StageName": "Closed Won", "Amount": 10, "CurrencyIsoCode": "USD"}
    body = outbound.envelope(sim.app.state.ctx, [record], "04k5g0000000001AAA")
    response = await post(ingress, body)
    assert acked(response), response.text
    assert outbound.acknowledged(response.content)  # and the simulator reads our Ack as Salesforce would
    await ts_env.client.get_workflow_handle(f"q2c-salesforce-{opportunity_id}").terminate("test done")


async def test_an_org_id_of_15_characters_in_configuration_matches_the_18_character_one(
    ts_env, task_queue, monkeypatch
):
    monkeypatch.setenv("Q2C_SALESFORCE_ORG_ID", ORG[:15])
    opportunity_id = fresh_id()
    async with listener(ts_env.client, task_queue) as web:
        assert acked(await post(web, message(notification(opportunity_id))))
    await ts_env.client.get_workflow_handle(f"q2c-salesforce-{opportunity_id}").terminate("test done")


async def test_an_opportunity_not_won_is_acked_and_starts_nothing(ingress, ts_env):
    opportunity_id = fresh_id()
    assert acked(await post(ingress, message(notification(opportunity_id, StageName="Negotiation/Review"))))
    assert not await started(ts_env.client, opportunity_id)


ENTITY_EXPANSION = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
)
EXTERNAL_ENTITY = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


@pytest.mark.parametrize(
    ("body", "status", "problem"),
    [
        (lambda i: message(notification(i), org="00D000000000001AAA"), 403, "OrganizationId: 00D000000000001AAA"),
        (lambda i: message(notification(i), org=""), 400, "OrganizationId: empty"),
        (lambda i: b"<soapenv:Envelope><unclosed>", 400, "not well-formed XML"),
        (lambda i: b'{"Id": "' + i.encode() + b'"}', 400, "not well-formed XML"),
        (lambda i: b"<notifications/>", 400, "not a SOAP 1.1 Envelope"),
        (lambda i: f'<e:Envelope xmlns:e="{SOAP}"><e:Body/></e:Envelope>'.encode(), 400, "no notifications"),
        (lambda i: message(notification(i), prolog=ENTITY_EXPANSION), 400, "DTD or entities is refused"),
        (lambda i: message(notification(i, Name="&xxe;"), prolog=EXTERNAL_ENTITY), 400, "DTD or entities"),
        (lambda i: message(notification(i, kind="Lead")), 422, "type 'Lead' is not one q2c takes"),
        (lambda i: message(notification(i), notification(i, kind="Lead")), 422, "Notification[1].sObject"),
        (lambda i: message(notification("not-an-id")), 400, "sObject.Id: 'not-an-id'"),
        (lambda i: message(notification(i, Amount="lots")), 400, "Notification[0].Amount: 'lots'"),
        (lambda i: message(notification(i, SystemModstamp="yesterday")), 400, "SystemModstamp"),
        (lambda i: message(notification(i), *[notification(i)] * 100), 413, "body over 8192 bytes"),
    ],
    ids=[
        "wrong-org",
        "no-org",
        "malformed-xml",
        "json",
        "not-soap",
        "no-notifications",
        "entity-expansion",
        "external-entity",
        "unknown-object",
        "unknown-object-later-in-the-batch",
        "bad-id",
        "bad-amount",
        "bad-timestamp",
        "huge-body",
    ],
)
async def test_bad_input_is_refused_with_a_fault_that_says_what_and_starts_nothing(
    ingress, ts_env, body, status, problem
):
    opportunity_id = fresh_id()
    response = await post(ingress, body(opportunity_id))
    assert response.status_code == status and not acked(response)
    assert problem in fault(response)
    assert not await started(ts_env.client, opportunity_id)


async def test_over_100_notifications_is_refused(ts_env, task_queue):
    settings = Q2CSettings(task_queue=task_queue)  # the default body limit, so the count is what refuses
    app = create_ingress(settings, client=ts_env.client, roles=Roles(crm="salesforce"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingress.test") as web:
        response = await post(web, message(*[notification(fresh_id()) for _ in range(101)]))
    assert response.status_code == 400 and "101 Notification elements, over 100" in fault(response)


async def test_temporal_unavailable_is_a_server_fault_without_ack_so_salesforce_resends():
    class Down:
        async def start_workflow(self, *args: Any, **kwargs: Any) -> None:
            raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")

    async with listener(Down()) as web:
        response = await post(web, message(notification(fresh_id())))
    assert response.status_code == 503 and response.headers["retry-after"] == "10" and not acked(response)
    assert "temporal is unavailable" in fault(response)
    assert "soapenv:Server" in response.text


async def test_only_the_crms_served_get_a_route(ts_env):
    app = create_ingress(Q2CSettings(), client=ts_env.client, roles=Roles(crm="hubspot"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingress.test") as web:
        assert (await post(web, message())).status_code == 404


ACCOUNT = {"Name": "Acme GmbH", "Region__c": "emea", "SystemModstamp": "2026-11-28T20:00:00.000+0000"}


def account_notification(account_id: str, **fields: str) -> str:
    values = {key: value for key, value in {**ACCOUNT, **fields}.items() if value}
    return notification(account_id, kind="Account", StageName="", Amount="", CurrencyIsoCode="", **values)


def fresh_account() -> str:
    return "0015g" + uuid.uuid4().hex[:13].upper()


async def has_entity(client: Client, account_id: str) -> bool:
    try:
        await client.get_workflow_handle(f"q2c-customer-{account_id}").describe()
    except RPCError as error:
        assert error.status is RPCStatusCode.NOT_FOUND
        return False
    return True


async def test_an_account_notification_is_acked_once_its_customer_sync_entity_holds_the_changes(ingress, ts_env):
    account_id = fresh_account()
    body = message(account_notification(account_id, Type="Customer - Direct", VAT_Number__c="DE123456789"))
    response = await post(ingress, body)
    assert acked(response), response.text
    assert response.headers["x-q2c-customer-changes"] == "4"  # lifecycle, legal name, tax registration, region
    handle = ts_env.client.get_workflow_handle(f"q2c-customer-{account_id}")
    history = await handle.fetch_history()
    started_with = history.events[0].workflow_execution_started_event_attributes.input.payloads[0].data
    assert CustomerRecord.model_validate_json(started_with).crm == "salesforce"
    signals = [
        CustomerChange.model_validate_json(e.workflow_execution_signaled_event_attributes.input.payloads[0].data)
        for e in history.events
        if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    changes = {c.attribute: c for c in signals}
    assert changes["legal_name"].value == "Acme GmbH" and changes["tax_registration"].value == "DE123456789"
    assert changes[LIFECYCLE].lifecycle is LifecycleStage.CUSTOMER and next(iter(changes)) == LIFECYCLE
    assert {(c.crm, c.source, c.at) for c in signals} == {
        ("salesforce", System.CRM, datetime(2026, 11, 28, 20, tzinfo=UTC))
    }
    await handle.terminate("test done")


@pytest.mark.parametrize(
    ("fields", "org", "status", "problem"),
    [
        ({}, "00D000000000001AAA", 403, "OrganizationId: 00D000000000001AAA"),
        ({"SystemModstamp": ""}, ORG, 422, "an Account message needs SystemModstamp or LastModifiedDate"),
        ({"SystemModstamp": "last tuesday"}, ORG, 400, "Notification[0].sObject.SystemModstamp: 'last tuesday'"),
        ({"Name": "<unclosed"}, ORG, 400, "not well-formed XML"),
    ],
    ids=["wrong-org", "no-clock", "bad-clock", "malformed"],
)
async def test_a_bad_account_notification_is_refused_and_reaches_no_entity(
    ingress, ts_env, fields, org, status, problem
):
    account_id = fresh_account()
    notice = account_notification(account_id, **fields)  # values go in unescaped: "<unclosed" breaks the XML
    response = await post(ingress, message(notice, org=org))
    assert response.status_code == status and not acked(response)
    assert problem in fault(response)
    assert not await has_entity(ts_env.client, account_id)


async def test_a_bad_account_id_is_refused(ingress):
    response = await post(ingress, message(account_notification("001-not-an-id")))
    assert response.status_code == 400 and "sObject.Id: '001-not-an-id'" in fault(response)
