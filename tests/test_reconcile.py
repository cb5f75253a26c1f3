"""Reconciliation: clean after honest runs, names each kind of drift, repairs what q2c can, pages on."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.reconcile import ReconcileActivities
from models.reconcile import CheckDeals, Drift, ReconcileInput, ReconciliationReport
from models.saga import SagaResult, Stage
from tests.conftest import time_skipping_server
from tests.test_saga import FULL, business, wid
from workflows.reconciliation import Reconciliation

KEPT = Path(__file__).parent / "histories" / "reconciliation"


@pytest.fixture(scope="module")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A test server of its own (see conftest's ts_env): repairs start sagas this module does not wait out."""
    async with time_skipping_server() as env:
        yield env


async def reconcile(sagas, day: date, keep_as: str | None = None, **options) -> ReconciliationReport:
    handle = await sagas.client.start_workflow(
        Reconciliation.run,
        ReconcileInput(since=day, until=day, task_queue=sagas.task_queue, **options),
        id=f"q2c-reconcile-test-{uuid.uuid4().hex[:8]}",
        task_queue=sagas.task_queue,
    )
    report = await handle.result()
    if keep_as and os.environ.get("Q2C_WRITE_HISTORIES"):  # for the replay gate (tests/test_replay.py)
        KEPT.mkdir(parents=True, exist_ok=True)
        (KEPT / f"{keep_as}.json").write_text((await handle.fetch_history()).to_json())
        (KEPT / f"{keep_as}.workflow_id").write_text(handle.id)
    return report


def a_day(n: int) -> date:
    """Each test closes its deals on its own day, so its window holds only its own deals."""
    return date(2031, 1, n)


async def test_clean_after_honest_runs_then_names_the_drift_made_behind_q2cs_back(sagas):
    day = a_day(1)
    done = sagas.new_deal(FULL, close_date=day.isoformat())
    usd = [c for c in sagas.sim.records("hubspot", "companies")[4:] if c["properties"].get("currency") == "USD"]
    other = str(usd[1]["id"])
    undone = sagas.new_deal(FULL, close_date=day.isoformat(), company=other)
    # Support refuses the entitlement: the order, invoice and both subscriptions are undone.
    sagas.sim.fault(**business("zendesk", "POST", "/api/v2/organizations/create_or_update", match=other, count=1))
    assert (await (await sagas.start(done)).result()).stage is Stage.COMPLETED
    assert (await (await sagas.start(undone)).result()).stage is Stage.COMPENSATED
    report = await reconcile(sagas, day)
    assert report.checked == 2 and report.clean, report.items

    store = sagas.sim.store
    monthly = next(
        s
        for s in store.all("stripe", "subscription")
        if s["metadata"].get("q2c_workflow_id") == wid(done)
        and s["items"]["data"][0]["price"]["recurring"]["interval"] == "month"
    )
    monthly["items"]["data"][0]["quantity"] += 4  # someone edits the subscription in Stripe's dashboard
    store.put("stripe", "subscription", monthly["id"], monthly)
    leftover = next(
        s for s in store.all("stripe", "subscription") if s["metadata"].get("q2c_workflow_id") == wid(undone)
    )
    store.put("stripe", "subscription", leftover["id"], {**leftover, "status": "active"})  # a half-done undo
    customer = (await sagas.status(sagas.client.get_workflow_handle(wid(done)))).customer_id
    org = store.find("zendesk", "organization", "external_id", customer)[0]
    store.put(
        "zendesk",
        "organization",
        org["id"],
        {**org, "organization_fields": {**org["organization_fields"], "entitlement_status": "suspended"}},
    )
    order = store.find("netsuite", "salesOrder", "externalId", f"{wid(done)}:create_order")[0]
    store.put(
        "netsuite",
        "salesOrder",
        "9" + order["id"],
        {**order, "id": "9" + order["id"], "tranId": "SO-DUP", "externalId": f"{wid(done)}:create_order-copy"},
    )
    orphan = sagas.new_deal(["PLAT-TEAM"], close_date=day.isoformat())  # closed-won; its webhook was lost

    report = await reconcile(sagas, day, keep_as="drift_named")
    kinds = {(i.kind, i.deal_id, i.system) for i in report.items}
    assert kinds == {
        (Drift.AMOUNT_MISMATCH, done, "billing"),
        (Drift.SUPPORT_OUT_OF_DATE, done, "support"),
        (Drift.DUPLICATE_ORDER, done, "erp"),
        (Drift.LEFT_BEHIND, undone, "billing"),
        (Drift.MISSING_SAGA, orphan, "q2c"),
    }, report.items
    assert report.counts[Drift.AMOUNT_MISMATCH] == 1 and report.checked == 3
    mismatch = next(i for i in report.items if i.kind is Drift.AMOUNT_MISMATCH)
    assert "monthly subscriptions bill" in mismatch.detail and mismatch.repair is None

    repaired = await reconcile(sagas, day, keep_as="drift_repaired", repair=True)
    assert {i.kind: i.repaired for i in repaired.items if i.repair} == {
        Drift.SUPPORT_OUT_OF_DATE: f"update_support {customer}",
        Drift.LEFT_BEHIND: f"cancel_subscription {leftover['id']}",
        Drift.MISSING_SAGA: f"started saga {wid(orphan)}",
    }
    # Polled, not awaited with result(): on the time-skipping server only handles we started skip time.
    orphan_saga = sagas.client.get_workflow_handle(wid(orphan), result_type=SagaResult)
    assert (await sagas.wait_for(orphan_saga, lambda s: s.stage is Stage.COMPLETED)).stage is Stage.COMPLETED
    after = await reconcile(sagas, day)
    assert {i.kind for i in after.items} == {Drift.AMOUNT_MISMATCH, Drift.DUPLICATE_ORDER}  # for a person


async def test_it_pages_and_continues_as_new_without_losing_a_deal(sagas):
    day = a_day(2)
    deals = [sagas.new_deal(["PLAT-TEAM"], close_date=day.isoformat()) for _ in range(3)]
    report = await reconcile(sagas, day, keep_as="paged", page_size=1, pages_per_run=1)
    assert report.runs == 3 and report.checked == 3
    assert {i.deal_id for i in report.items} == set(deals) and all(i.kind is Drift.MISSING_SAGA for i in report.items)


async def test_a_run_that_checked_nothing_says_so_and_is_not_clean(sagas):
    report = await reconcile(sagas, a_day(3))  # a day no test closes a deal on
    assert report.checked == 0 and not report.counts
    assert not report.clean and report.verdict.startswith("nothing checked")


async def test_master_data_that_differs_between_systems_is_named_and_repaired_toward_its_owner(sagas):
    """A completed saga's customer: support renamed behind q2c's back, the CRM's VAT number edited; the ERP owns
    both once the company is a customer, so both go back to the ERP's values."""
    day = a_day(4)
    usd = [c for c in sagas.sim.records("hubspot", "companies")[4:] if c["properties"].get("currency") == "USD"]
    company = str(usd[2]["id"])
    deal = sagas.new_deal(["PLAT-TEAM"], close_date=day.isoformat(), company=company)
    assert (await (await sagas.start(deal)).result()).stage is Stage.COMPLETED
    assert (await reconcile(sagas, day)).clean
    store = sagas.sim.store
    erp = store.find("netsuite", "customer", "externalId", company)[0]
    org = store.find("zendesk", "organization", "external_id", company)[0]
    store.put("zendesk", "organization", org["id"], {**org, "name": "Renamed In Support"})
    hubspot_company = store.require("hubspot", "companies", company)
    hubspot_company["properties"]["vat_number"] = "XX-EDITED-1"
    store.put("hubspot", "companies", company, hubspot_company)

    report = await reconcile(sagas, day, repair=True)
    found = {(i.kind, i.system): i for i in report.items}
    assert set(found) == {(Drift.MASTER_DATA_MISMATCH, "support"), (Drift.MASTER_DATA_MISMATCH, "crm")}, report.items
    renamed, vat = found[(Drift.MASTER_DATA_MISMATCH, "support")], found[(Drift.MASTER_DATA_MISMATCH, "crm")]
    assert "legal_name" in renamed.detail and "'Renamed In Support'" in renamed.detail
    assert f"erp {erp['companyName']!r}" in renamed.detail and "erp owns it" in renamed.detail
    assert "tax_registration" in vat.detail and "'XX-EDITED-1'" in vat.detail and vat.crm == "hubspot"
    assert renamed.repaired and vat.repaired
    assert store.find("zendesk", "organization", "external_id", company)[0]["name"] == erp["companyName"]
    assert store.require("hubspot", "companies", company)["properties"]["vat_number"] == erp["defaultTaxReg"]
    assert (await reconcile(sagas, day)).clean


async def test_every_crm_served_is_paged_in_turn_and_a_missing_saga_names_its_crm(sim, adapters):
    """`Q2C_CRMS=hubspot,salesforce`: one run's cursor moves from HubSpot's deals to Salesforce's; a MISSING_SAGA
    repair carries the deal's CRM, so the saga it starts is `q2c-<crm>-<deal>`."""
    from connectors.registry import make_adapter
    from tests.ports.seeds import hubspot_deal, salesforce_deal

    day = a_day(5).isoformat()
    in_hubspot = hubspot_deal(sim, ["PLAT-TEAM"], "won", day)
    in_salesforce = salesforce_deal(sim, ["PLAT-TEAM"], "won", day)
    async with make_adapter("crm", "salesforce", sim.url, 2.0) as salesforce:
        checks = ReconcileActivities(
            adapters.crm, adapters.erp, adapters.billing, adapters.support, crms={"salesforce": salesforce}
        )
        items, after, cursors = [], None, []
        for _ in range(10):
            page = await ActivityEnvironment().run(
                checks.check_deals, CheckDeals(after=after, limit=1, since=day, until=day)
            )
            items += page.items
            after = page.next_after
            cursors.append(after)
            if after is None:
                break
    missing = {(i.crm, i.deal_id, i.repair.fields["crm"]) for i in items if i.kind is Drift.MISSING_SAGA and i.repair}
    assert missing == {("hubspot", in_hubspot, "hubspot"), ("salesforce", in_salesforce, "salesforce")}
    assert "salesforce|" in cursors and cursors[-1] is None  # HubSpot's last page hands over to Salesforce
