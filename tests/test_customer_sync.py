"""CustomerSync: ownership decides every change; owners' changes spread, others are put back; all audited."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from client.starter import submit_customer_change
from connectors.zendesk import webhooks as zendesk_webhooks
from infra.settings import Q2CSettings
from models.common import LifecycleStage, System
from models.customer_sync import LIFECYCLE, AuditEntry, CustomerChange, CustomerRecord, sync_id
from models.saga import Stage
from tests.conftest import time_skipping_server
from tests.test_ingress import event, signed
from workers.ingress import create_ingress


@pytest.fixture(scope="module")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A test server of its own (see conftest's ts_env): the entities outlive each test."""
    async with time_skipping_server() as env:
        yield env


async def a_customer(sagas) -> str:
    """A fresh company that has been through a saga: it exists in the CRM, the ERP and support."""
    seeded = next(c for c in sagas.sim.records("hubspot", "companies")[4:] if c["properties"]["currency"] == "USD")
    tag = uuid.uuid4().hex[:6]
    company = sagas.sim.app.state.apps["hubspot"].state.create(
        "companies", {**seeded["properties"], "name": f"Sync Co {tag}", "contact_email": f"ops@{tag}.example"}
    )
    handle = await sagas.start(sagas.new_deal(["PLAT-TEAM"], company=str(company["id"])))
    assert (await handle.result()).stage is Stage.COMPLETED
    return str(company["id"])


def change(customer: str, source: System, attribute: str, value: str | None, **extra) -> CustomerChange:
    return CustomerChange(
        change_id=extra.pop("change_id", uuid.uuid4().hex),
        customer_id=customer,
        source=source,
        attribute=attribute,
        value=value,
        at=datetime.now(UTC),
        correlation_id="test",
        **extra,
    )


async def audit(sagas, customer: str, count: int) -> list[AuditEntry]:
    handle = sagas.client.get_workflow_handle(sync_id(customer))
    entries: list[AuditEntry] = []
    deadline = asyncio.get_running_loop().time() + 30  # a loaded CI machine is slow
    while asyncio.get_running_loop().time() < deadline:
        try:
            entries = await handle.query("audit", None, result_type=list[AuditEntry], rpc_timeout=timedelta(seconds=5))
        except RPCError:  # a query that lands while the entity continues as new can time out: ask again
            continue
        if len(entries) >= count:
            return entries
        await asyncio.sleep(0.02)
    raise AssertionError(f"only {len(entries)} audit entries")


def crm_name(sagas, customer: str) -> str:
    return str(sagas.sim.store.get("hubspot", "companies", customer)["properties"]["name"])


def support_org(sagas, customer: str) -> dict:
    return sagas.sim.store.find("zendesk", "organization", "external_id", customer)[0]


async def test_the_owners_change_spreads_and_its_echo_does_not_come_back(sagas):
    customer = await a_customer(sagas)
    submit = lambda c: submit_customer_change(sagas.client, c, sagas.task_queue)  # noqa: E731
    await submit(change(customer, System.CRM, LIFECYCLE, "customer", lifecycle=LifecycleStage.CUSTOMER))
    await submit(change(customer, System.ERP, "legal_name", "Sync Co Holdings LLC"))
    entries = await audit(sagas, customer, 2)
    assert entries[1].outcome == "accepted" and entries[1].rule == "erp owns legal_name of a customer"
    assert entries[1].propagated_to == [System.CRM, System.SUPPORT]
    assert crm_name(sagas, customer) == "Sync Co Holdings LLC"
    assert support_org(sagas, customer)["name"] == "Sync Co Holdings LLC"

    # HubSpot's webhook for q2c's own write: recognised, not written anywhere again.
    await submit(change(customer, System.CRM, "legal_name", "Sync Co Holdings LLC"))
    echo = (await audit(sagas, customer, 3))[2]
    assert echo.outcome == "echo" and echo.propagated_to == []


async def test_a_non_owners_change_is_refused_and_the_owners_value_put_back(sagas):
    customer = await a_customer(sagas)
    erp_name = sagas.sim.store.find("netsuite", "customer", "externalId", customer)[0]["companyName"]
    submit = lambda c: submit_customer_change(sagas.client, c, sagas.task_queue)  # noqa: E731
    await submit(change(customer, System.CRM, LIFECYCLE, "customer", lifecycle=LifecycleStage.CUSTOMER))
    sagas.sim.app.state.apps["hubspot"].state.update(
        "companies", sagas.sim.store.get("hubspot", "companies", customer), {"name": "Renamed By Sales"}
    )
    await submit(change(customer, System.CRM, "legal_name", "Renamed By Sales", change_id="hs-1"))
    await submit(change(customer, System.CRM, "legal_name", "Renamed By Sales", change_id="hs-1"))  # redelivered
    await submit(change(customer, System.SUPPORT, "support_contact_preferences", "email only"))
    entries = await audit(sagas, customer, 4)
    redirected, duplicate, preference = entries[1:]
    assert redirected.outcome == "redirected" and redirected.rule == "erp owns legal_name of a customer, not crm"
    assert crm_name(sagas, customer) == erp_name
    assert duplicate.outcome == "duplicate"
    assert (
        preference.outcome == "accepted" and preference.rule == "support owns support_contact_preferences of a customer"
    )
    handle = sagas.client.get_workflow_handle(sync_id(customer))
    only_names = await handle.query("audit", "legal_name", result_type=list[AuditEntry])
    assert [e.change_id for e in only_names] == ["hs-1", "hs-1"]


async def test_a_prospect_belongs_to_the_crm_and_the_entity_continues_as_new(sagas):
    customer = await a_customer(sagas)
    first = await sagas.client.start_workflow(
        "CustomerSync",
        CustomerRecord(customer_id=customer, continue_after=2),
        id=sync_id(customer),
        task_queue=sagas.task_queue,
        start_signal="change",
        start_signal_args=[change(customer, System.CRM, "legal_name", "Prospect Name Inc")],
    )
    submit = lambda c: submit_customer_change(sagas.client, c, sagas.task_queue)  # noqa: E731
    for n in range(3):
        await submit(change(customer, System.CRM, "tax_registration", f"US-{n}"))
    entries = await audit(sagas, customer, 4)
    assert [e.outcome for e in entries] == ["accepted"] * 4
    assert entries[0].rule == "crm owns legal_name of a prospect"
    assert sagas.sim.store.find("netsuite", "customer", "externalId", customer)[0]["defaultTaxReg"] == "US-2"
    current = await sagas.client.get_workflow_handle(sync_id(customer)).describe()
    assert current.run_id != first.first_execution_run_id  # continued as new, the audit carried along


async def test_zendesk_and_hubspot_webhooks_reach_the_entity(ts_env, sagas, hubspot_app_secret):
    customer = await a_customer(sagas)
    settings = Q2CSettings(task_queue=sagas.task_queue)
    app = create_ingress(settings, client=ts_env.client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingress.test") as web:
        body = json.dumps(
            [
                event(
                    "1",
                    subscriptionType="company.propertyChange",
                    objectId=int(customer),
                    propertyName="name",
                    propertyValue="Via HubSpot",
                )
            ]
        ).encode()
        answer = await web.post("/webhooks/hubspot", content=body, headers=signed(body))
        assert answer.json()["customer_changes"] == 1
        zd = {
            "id": "01HZ-1",
            "type": "zen:event-type:organization.name_changed",
            "time": datetime.now(UTC).isoformat(),
            "detail": {"id": "1", "external_id": customer},
            "event": {"current": "Via Zendesk", "previous": "Sync Co"},
        }
        raw = json.dumps(zd).encode()
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        secret = zendesk_webhooks.signing_secret().get_secret_value()
        bad = await web.post(
            "/webhooks/zendesk",
            content=raw,
            headers={"X-Zendesk-Webhook-Signature": "x", "X-Zendesk-Webhook-Signature-Timestamp": stamp},
        )
        assert bad.status_code == 401
        good = await web.post(
            "/webhooks/zendesk",
            content=raw,
            headers={
                "X-Zendesk-Webhook-Signature": zendesk_webhooks.sign(secret, raw, stamp),
                "X-Zendesk-Webhook-Signature-Timestamp": stamp,
            },
        )
        assert good.json() == {"event": "01HZ-1", "customer_sync": sync_id(customer)}
    entries = await audit(sagas, customer, 2)
    assert [(e.source, e.outcome) for e in entries] == [(System.CRM, "accepted"), (System.SUPPORT, "redirected")]
    assert support_org(sagas, customer)["name"] == "Via HubSpot"  # a prospect's name is the CRM's
