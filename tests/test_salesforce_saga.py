"""QuoteToCash with Salesforce as the CRM, on the same worker as HubSpot's sagas (`Q2C_CRMS`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from client.operations import parked_sagas
from client.sagas import SagaClient, SagaRef
from connectors.registry import Adapters, make_adapter
from models.common import Region
from models.saga import CreditDecision, SagaPolicy, SagaResult, Stage
from ports import Crm
from simulators.seed import BY_SKU, service_starts
from tests.conftest import Sagas, Sim
from tests.test_saga import FULL, business, one
from workers.worker import activities_for, build_worker


def opportunity(sim: Sim, opportunity_id: str) -> dict[str, Any]:
    return dict(sim.app.state.apps["salesforce"].state.records.get("Opportunity", opportunity_id))


class SalesforceSagas(Sagas):
    """Sagas for fresh Salesforce opportunities, on a worker that serves HubSpot and Salesforce."""

    crm = "salesforce"

    @property
    def records(self) -> Any:
        return self.sim.app.state.apps["salesforce"].state.records

    def account(self, story: str | None = None, currency: str = "USD") -> str:
        """A seeded account: the one of a story (`over_credit`, `no_tax`, ...) or an ordinary one."""
        if story:
            first = self.sim.manifest["salesforce"]["deals"][story][0]
            return str(self.records.get("Opportunity", first)["AccountId"])
        accounts = self.sim.records("salesforce", "Account")[4:]
        return str(next(a for a in accounts if a.get("CurrencyIsoCode") == currency)["Id"])

    def fresh_account(self, story: str | None = None, **fields: Any) -> str:
        """A copy of a seeded account under a name of its own, with a contact (support names must be unique)."""
        seeded = self.records.get("Account", self.account(story))
        copied = ("BillingStreet", "BillingCity", "BillingPostalCode", "BillingCountry", "CurrencyIsoCode", "Region__c")
        name = f"{seeded['Name']} {uuid.uuid4().hex[:6]}"
        account = self.records.create("Account", {**{f: seeded[f] for f in copied}, "Name": name, **fields})
        email = f"buyer-{uuid.uuid4().hex[:6]}@fresh.test"
        self.records.create(
            "Contact", {"AccountId": account["Id"], "FirstName": "Ada", "LastName": "Buyer", "Email": email}
        )
        return str(account["Id"])

    def new_deal(  # type: ignore[override]
        self, skus: list[str], *, account: str | None = None, won: bool = True, close_date: str = "2026-11-25"
    ) -> str:
        """An opportunity with lines from the standard price book, Closed Won unless `won` is False."""
        account_id = account or self.account()
        currency = str(self.records.get("Account", account_id)["CurrencyIsoCode"])
        manifest = self.sim.manifest["salesforce"]
        created = self.records.create(
            "Opportunity",
            {
                "Name": f"test {uuid.uuid4().hex[:6]}",
                "AccountId": account_id,
                "StageName": "Negotiation/Review",
                "CloseDate": close_date,
                "CurrencyIsoCode": currency,
                "Type": "New Business",
                "Pricebook2Id": manifest["pricebook"],
            },
        )
        for sku in skus:
            line = {"OpportunityId": created["Id"], "PricebookEntryId": manifest["entries"][f"{sku}:{currency}"]}
            if BY_SKU[sku].frequency != "one_time":
                line["ServiceDate"] = service_starts()
            self.records.create("OpportunityLineItem", {**line, "Quantity": 1})
        if won:  # won after its lines, as a rep closes it
            self.records.update("Opportunity", created["Id"], {"StageName": "Closed Won"})
        return str(created["Id"])


@pytest.fixture
async def salesforce(sim: Sim) -> AsyncIterator[Crm]:
    async with make_adapter("crm", "salesforce", sim.url, timeout_s=2.0) as crm:
        yield crm


@pytest.fixture
async def both(ts_env: WorkflowEnvironment, sim: Sim, adapters: Adapters, salesforce: Crm) -> AsyncIterator[str]:
    """A worker serving both CRMs (HubSpot the default); its task queue."""
    task_queue = f"q2c-test-{uuid.uuid4().hex[:8]}"
    crms = {"hubspot": adapters.crm, "salesforce": salesforce}
    async with build_worker(ts_env.client, task_queue, activities_for(*adapters, crms=crms)):
        yield task_queue


@pytest.fixture
def sf_sagas(ts_env: WorkflowEnvironment, sim: Sim, both: str) -> SalesforceSagas:
    return SalesforceSagas(ts_env.client, both, sim)


def fresh_company(sim: Sim) -> str:
    """A HubSpot company of its own name: the same name in both CRMs is two organizations in support."""
    seeded = sim.records("hubspot", "companies")[5]
    properties = {**seeded["properties"], "name": f"{seeded['properties']['name']} {uuid.uuid4().hex[:6]}"}
    return str(sim.app.state.apps["hubspot"].state.create("companies", properties)["id"])


def wid(opportunity_id: str) -> str:
    return f"q2c-salesforce-{opportunity_id}"


async def test_happy_path_writes_every_record_once_and_milestones_to_the_opportunity(sf_sagas):
    deal_id = sf_sagas.new_deal(FULL)
    result = await sf_sagas.finish(await sf_sagas.start(deal_id))
    sim, w = sf_sagas.sim, wid(deal_id)
    assert result.stage is Stage.COMPLETED and result.error is None, result
    order = one(sim, "netsuite", "salesOrder", "externalId", f"{w}:create_order")
    account_id = opportunity(sim, deal_id)["AccountId"]
    assert one(sim, "netsuite", "customer", "externalId", account_id)["id"] == order["entity"]["id"]
    subscriptions = [s for s in sim.records("stripe", "subscription") if s["metadata"].get("q2c_workflow_id") == w]
    assert len(subscriptions) == 2
    org = one(sim, "zendesk", "organization", "external_id", account_id)
    assert org["organization_fields"]["entitlement_status"] == "active"
    won = opportunity(sim, deal_id)
    assert won["ERP_Order_Number__c"] == order["tranId"] and won["Q2C_Status__c"] == "completed"
    assert won["Entitlement_Status__c"] == "active" and won["Invoice_Status__c"] == "posted"


async def test_both_crms_run_side_by_side_on_one_worker(sf_sagas):
    hubspot = Sagas(sf_sagas.client, sf_sagas.task_queue, sf_sagas.sim)
    hubspot_deal = hubspot.new_deal(["IMPL-STD"])
    salesforce_deal = sf_sagas.new_deal(["IMPL-STD"])
    handles = [await hubspot.start(hubspot_deal), await sf_sagas.start(salesforce_deal)]
    assert [h.id for h in handles] == [f"q2c-hubspot-{hubspot_deal}", wid(salesforce_deal)]
    for handle in handles:
        assert (await handle.result()).stage is Stage.COMPLETED
    assert sf_sagas.sim.store.get("hubspot", "deals", hubspot_deal)["properties"]["q2c_status"] == "completed"
    assert opportunity(sf_sagas.sim, salesforce_deal)["Q2C_Status__c"] == "completed"


async def test_a_credit_hold_on_a_salesforce_account_is_released_by_the_operator_client(sf_sagas):
    deal_id = sf_sagas.new_deal(["PLAT-PRO"], account=sf_sagas.account("over_credit"))
    handle = await sf_sagas.start(deal_id)
    status = await sf_sagas.wait_for(handle, lambda s: s.stage is Stage.ON_HOLD)
    assert status.hold is not None and status.hold.reason == "credit_review"
    assert opportunity(sf_sagas.sim, deal_id)["Q2C_Status__c"] == "on_hold"
    operator = SagaClient(sf_sagas.client, task_queue=sf_sagas.task_queue)  # HubSpot is the default CRM
    ref = SagaRef.parse(f"salesforce:{deal_id}")
    assert (await operator.status(ref)).workflow_id == wid(deal_id)
    await operator.approve_credit(ref, "cfo@q2c.example", "strategic account")
    assert (await sf_sagas.finish(handle)).stage is Stage.COMPLETED
    assert (await operator.status(wid(deal_id))).holds[0].decided_by == "cfo@q2c.example"


async def test_a_rejected_credit_hold_fails_before_any_order(sf_sagas):
    deal_id = sf_sagas.new_deal(["PLAT-PRO"], account=sf_sagas.account("over_credit"))
    handle = await sf_sagas.start(deal_id)
    await sf_sagas.wait_for(handle, lambda s: s.stage is Stage.ON_HOLD)
    await handle.signal("reject_credit", CreditDecision(approver="cfo@q2c.example", reason="too risky"))
    result = await sf_sagas.finish(handle)
    assert result.stage is Stage.FAILED and result.error is not None and result.error.type == "CreditRejected"
    assert not sf_sagas.sim.store.find("netsuite", "salesOrder", "externalId", f"{wid(deal_id)}:create_order")
    assert opportunity(sf_sagas.sim, deal_id)["Q2C_Status__c"] == "failed"


async def test_a_late_refusal_compensates_and_the_opportunity_says_so(sf_sagas):
    deal_id = sf_sagas.new_deal(FULL)
    fault = business("zendesk", "POST", "/api/v2/organizations/create_or_update", match="invoice_status", count=1)
    sf_sagas.sim.fault(**fault)
    result = await sf_sagas.finish(await sf_sagas.start(deal_id))
    sim, w = sf_sagas.sim, wid(deal_id)
    assert result.stage is Stage.COMPENSATED and result.error is not None
    assert one(sim, "netsuite", "salesOrder", "externalId", f"{w}:create_order")["orderStatus"]["refName"] == "Closed"
    for subscription in [s for s in sim.records("stripe", "subscription") if s["metadata"].get("q2c_workflow_id") == w]:
        assert subscription["status"] == "canceled"
    won = opportunity(sim, deal_id)
    assert won["Q2C_Status__c"] == "compensated" and "scripted business rule" in won["Q2C_Status_Reason__c"]


async def test_the_workbench_parks_a_salesforce_saga_and_retry_after_the_fix_in_salesforce_completes(sf_sagas, ts_env):
    records = sf_sagas.records
    account = {"Id": sf_sagas.fresh_account("no_tax", VAT_Number__c=None)}
    assert records.get("Account", account["Id"])["Region__c"] == "emea"
    deal_id = sf_sagas.new_deal(["PLAT-PRO"], account=account["Id"])
    policy = SagaPolicy(required_tax_fields=["tax_registration"])
    handle = await sf_sagas.start(deal_id, policies={Region.EMEA: policy})
    status = await sf_sagas.wait_for(handle, lambda s: s.stage is Stage.NEEDS_ATTENTION)
    assert status.exception is not None and status.exception.code == "missing_tax_registration"
    if not ts_env.supports_time_skipping:  # `q2c exceptions` lists through visibility: the dev server has it
        query = f"WorkflowId = '{wid(deal_id)}'"
        for _ in range(100):  # visibility is eventually consistent
            if parked := await parked_sagas(sf_sagas.client, query):
                break
            await asyncio.sleep(0.1)
        assert [s.workflow_id for s in parked["missing_tax_registration"]] == [wid(deal_id)]

    records.update("Account", account["Id"], {"VAT_Number__c": "DE123456789"})  # fixed where it belongs
    answer = await SagaClient(sf_sagas.client).retry(f"salesforce:{deal_id}", "ops@q2c.example", "VAT added")
    assert answer.accepted, answer
    assert (await sf_sagas.finish(handle)).stage is Stage.COMPLETED
    erp_customer = one(sf_sagas.sim, "netsuite", "customer", "externalId", account["Id"])
    assert erp_customer["defaultTaxReg"] == "DE123456789"


def test_q2c_crms_names_every_crm_served_the_default_first(monkeypatch):
    from connectors.roles import Roles

    monkeypatch.setenv("Q2C_CRMS", "salesforce, hubspot")
    assert Roles().crm_names() == ("salesforce", "hubspot")  # Q2C_CRM unset: the first one is the default
    monkeypatch.setenv("Q2C_CRM", "hubspot")
    assert Roles().crm_names() == ("hubspot", "salesforce")
    monkeypatch.delenv("Q2C_CRMS")
    assert Roles().crm_names() == ("hubspot",)


async def test_a_crm_call_outside_a_saga_goes_to_the_default_crm_and_an_unserved_crm_is_named(adapters):
    from temporalio.exceptions import ApplicationError

    from activities.crm import CrmActivities
    from models.steps import FetchDeal

    activities = CrmActivities(adapters.crm)
    assert activities.crm is adapters.crm

    class ForCrm(FetchDeal):
        crm: str

    with pytest.raises(ApplicationError, match="CRM 'salesforce' is not served by this worker"):
        activities.crm_for(ForCrm(deal_id="1", crm="salesforce"))


async def test_lost_triggers_in_both_crms_are_found_by_one_reconciliation_and_repaired(sf_sagas):
    from datetime import date

    from models.reconcile import Drift, ReconcileInput
    from workflows.reconciliation import Reconciliation

    day = date(2031, 3, 7)  # only this test's deals closed on it, and nothing was changed on it
    hubspot = Sagas(sf_sagas.client, sf_sagas.task_queue, sf_sagas.sim)
    company = fresh_company(sf_sagas.sim)
    lost = {  # closed won, but the webhook and the Outbound Message never arrived
        f"q2c-hubspot-{hubspot.new_deal(['IMPL-STD'], company=company, close_date=day.isoformat())}",
        wid(sf_sagas.new_deal(["IMPL-STD"], account=sf_sagas.fresh_account(), close_date=day.isoformat())),
    }

    async def reconcile() -> Any:
        job = ReconcileInput(since=day, until=day, repair=True, task_queue=sf_sagas.task_queue)
        run = f"q2c-reconcile-test-{uuid.uuid4().hex[:8]}"
        return await sf_sagas.client.execute_workflow(Reconciliation.run, job, id=run, task_queue=sf_sagas.task_queue)

    report = await reconcile()
    missing = [item for item in report.items if item.kind is Drift.MISSING_SAGA]
    assert {f"q2c-{item.crm}-{item.deal_id}" for item in missing} == lost
    assert all(item.repaired and item.repaired.startswith("started saga") for item in missing)
    for workflow_id in sorted(lost):
        result = await sf_sagas.client.get_workflow_handle(workflow_id, result_type=SagaResult).result()
        assert result.stage is Stage.COMPLETED, workflow_id
    again = await reconcile()
    assert again.checked == 2 and again.clean, again.items
