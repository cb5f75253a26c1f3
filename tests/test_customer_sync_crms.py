"""CustomerSync with two CRMs (`Q2C_CRMS=hubspot,salesforce`): each customer's CRM writes go to its own CRM.

A Salesforce Account's change comes as an Outbound Message (the simulator's own, on an Account update), reaches
the ERP and support, and the owner's values are written back to Salesforce; a HubSpot company's, as before, to
HubSpot; neither CRM is written for the other's customer.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.customer_sync import CustomerSyncActivities
from client.starter import submit_customer_change
from connectors.registry import Adapters, Roles, make_adapter
from infra.settings import Q2CSettings
from models.common import LifecycleStage, System
from models.customer_sync import LIFECYCLE, AuditEntry, CustomerChange, CustomerRecord
from models.saga import Stage
from ports import Crm
from simulators.server import BackgroundServer, free_port
from tests.conftest import Sagas, Sim, time_skipping_server
from tests.test_customer_sync import audit
from tests.test_salesforce_saga import SalesforceSagas, fresh_company
from workers.ingress import create_ingress
from workers.worker import activities_for, build_worker
from workflows.customer_sync import CustomerSync

KEPT = Path(__file__).parent / "histories_customer_sync" / "routed_by_crm.json"


@pytest.fixture(scope="module")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A test server of its own: the entities outlive each test."""
    async with time_skipping_server() as env:
        yield env


@pytest.fixture
async def salesforce(sim: Sim) -> AsyncIterator[Crm]:
    async with make_adapter("crm", "salesforce", sim.url, timeout_s=2.0) as crm:
        yield crm


def with_crms(activities: list[Callable[..., Any]], sync: CustomerSyncActivities) -> list[Callable[..., Any]]:
    """The CustomerSync activities over every CRM served (workers/worker.py builds them over the default one)."""
    return [
        getattr(sync, a.__name__) if isinstance(getattr(a, "__self__", None), CustomerSyncActivities) else a
        for a in activities
    ]


@pytest.fixture
async def both(ts_env: WorkflowEnvironment, sim: Sim, adapters: Adapters, salesforce: Crm) -> AsyncIterator[str]:
    """A worker serving HubSpot (the default) and Salesforce; its task queue."""
    task_queue = f"q2c-test-{uuid.uuid4().hex[:8]}"
    crms = {"hubspot": adapters.crm, "salesforce": salesforce}
    sync = CustomerSyncActivities(adapters.crm, adapters.erp, adapters.support, crms)
    async with build_worker(ts_env.client, task_queue, with_crms(activities_for(*adapters, crms=crms), sync)):
        yield task_queue


@pytest.fixture
def outbound_to_ingress(ts_env: WorkflowEnvironment, sim: Sim, both: str) -> Any:
    """The simulator's Outbound Messages, for opportunities and accounts, to a running ingress."""
    settings = Q2CSettings(task_queue=both)
    app = create_ingress(settings, client=ts_env.client, roles=Roles(crm="hubspot", crms=("hubspot", "salesforce")))
    store = sim.app.state.ctx.store
    with BackgroundServer(app, port=free_port()) as server:
        sim.admin.put("/webhooks/salesforce", json={"url": f"{server.url}/webhooks/salesforce"}).raise_for_status()
        store.set_setting("salesforce_outbound_objects", "Opportunity,Account")
        yield server
        store.set_setting("salesforce_outbound_objects", "Opportunity")
        sim.admin.put("/webhooks/salesforce", json={"url": None}).raise_for_status()


async def until(sagas: Sagas, customer: str, done: Callable[[list[AuditEntry]], bool]) -> list[AuditEntry]:
    deadline = time.monotonic() + 30
    entries: list[AuditEntry] = []
    while time.monotonic() < deadline:
        entries = await audit(sagas, customer, 1)
        if done(entries):
            return entries
        await asyncio.sleep(0.05)
    raise AssertionError(f"the audit never got there: {[(e.attribute, e.outcome, e.after) for e in entries]}")


def named(entries: list[AuditEntry], value: str, outcome: str) -> bool:
    return any(e.attribute == "legal_name" and e.after == value and e.outcome == outcome for e in entries)


def erp_name(sim: Sim, customer: str) -> str:
    return str(sim.store.find("netsuite", "customer", "externalId", customer)[0]["companyName"])


def support_name(sim: Sim, customer: str) -> str:
    return str(sim.store.find("zendesk", "organization", "external_id", customer)[0]["name"])


def erp_change(customer: str, value: str) -> CustomerChange:
    return CustomerChange(
        change_id=uuid.uuid4().hex,
        customer_id=customer,
        source=System.ERP,
        attribute="legal_name",
        value=value,
        at=datetime.now(UTC),
    )


async def test_a_salesforce_account_change_reaches_the_erp_and_support_and_the_owners_goes_back_to_salesforce(
    ts_env, sim, both, outbound_to_ingress
):
    sagas = SalesforceSagas(ts_env.client, both, sim)
    account = sagas.fresh_account()
    deal_id = sagas.new_deal(["PLAT-TEAM"], account=account)
    assert (await sagas.finish(await sagas.start(deal_id))).stage is Stage.COMPLETED
    records, tag = sagas.records, uuid.uuid4().hex[:6]

    # a prospect's name is the CRM's: the rep's rename (an Account Outbound Message) spreads to the ERP and support
    records.update("Account", account, {"Name": f"Renamed In Salesforce {tag}"})
    entries = await until(sagas, account, lambda e: named(e, f"Renamed In Salesforce {tag}", "accepted"))
    renamed = next(e for e in entries if e.after == f"Renamed In Salesforce {tag}")
    assert renamed.propagated_to == [System.ERP, System.SUPPORT] and renamed.rule == "crm owns legal_name of a prospect"
    assert erp_name(sim, account) == support_name(sim, account) == f"Renamed In Salesforce {tag}"
    record = await sagas.client.get_workflow_handle(f"q2c-customer-{account}").query(
        "customer", result_type=CustomerRecord
    )
    assert record.crm == "salesforce"

    # the account becomes a customer (Type); its message repeats the name, which the ERP now owns: nothing to put back
    records.update("Account", account, {"Type": "Customer - Direct"})
    entries = await until(sagas, account, lambda e: sum(x.attribute == LIFECYCLE for x in e) == 1 and len(e) >= 5)
    assert [e.stage for e in entries if e.attribute == LIFECYCLE] == [LifecycleStage.CUSTOMER]
    assert entries[-2].attribute == "legal_name" and entries[-2].outcome == "unchanged"

    # the ERP's rename is written to Salesforce (the customer's CRM), not HubSpot; its message comes back as an echo
    await submit_customer_change(sagas.client, erp_change(account, f"Holdings {tag} GmbH"), both)
    entries = await until(sagas, account, lambda e: named(e, f"Holdings {tag} GmbH", "echo"))
    accepted = next(e for e in entries if e.after == f"Holdings {tag} GmbH" and e.source is System.ERP)
    assert accepted.outcome == "accepted" and accepted.propagated_to == [System.CRM, System.SUPPORT]
    assert records.get("Account", account)["Name"] == f"Holdings {tag} GmbH"
    assert not [c for c in sim.records("hubspot", "companies") if c["properties"]["name"] == f"Holdings {tag} GmbH"]

    # a rep's rename of a customer is not the CRM's to make: the ERP's name is put back in Salesforce
    records.update("Account", account, {"Name": f"Sales Rename {tag}"})
    entries = await until(sagas, account, lambda e: named(e, f"Sales Rename {tag}", "redirected"))
    assert records.get("Account", account)["Name"] == f"Holdings {tag} GmbH"
    redirected = next(e for e in entries if e.after == f"Sales Rename {tag}")
    assert redirected.rule == "erp owns legal_name of a customer, not crm"
    if os.environ.get("Q2C_WRITE_HISTORIES"):  # kept for the replay gate below
        history = await sagas.client.get_workflow_handle(f"q2c-customer-{account}").fetch_history()
        KEPT.write_text(history.to_json())


async def test_an_entity_routed_by_its_crm_replays_on_current_code():
    """Recorded by the test above (patch customer-sync-routed-by-crm): the entity of a Salesforce account."""
    replayer = Replayer(workflows=[CustomerSync], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(WorkflowHistory.from_json("customer-sync-routed-by-crm", KEPT.read_text()))


async def test_a_hubspot_companys_change_goes_to_hubspot_on_the_same_worker(ts_env, sim, both):
    sagas = Sagas(ts_env.client, both, sim)
    company = fresh_company(sim)
    assert (
        await sagas.finish(await sagas.start(sagas.new_deal(["PLAT-TEAM"], company=company)))
    ).stage is Stage.COMPLETED
    tag = uuid.uuid4().hex[:6]
    lifecycle = CustomerChange(
        change_id=uuid.uuid4().hex,
        customer_id=company,
        source=System.CRM,
        attribute=LIFECYCLE,
        value="customer",
        at=datetime.now(UTC),
        lifecycle=LifecycleStage.CUSTOMER,
    )
    await submit_customer_change(sagas.client, lifecycle, both)
    await submit_customer_change(sagas.client, erp_change(company, f"HubSpot Holdings {tag}"), both)
    entries = await until(sagas, company, lambda e: named(e, f"HubSpot Holdings {tag}", "accepted"))
    assert entries[-1].propagated_to == [System.CRM, System.SUPPORT]
    assert sim.store.get("hubspot", "companies", company)["properties"]["name"] == f"HubSpot Holdings {tag}"
    assert support_name(sim, company) == f"HubSpot Holdings {tag}"
    assert not [a for a in sim.records("salesforce", "Account") if a.get("Name") == f"HubSpot Holdings {tag}"]
