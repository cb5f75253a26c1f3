"""Salesforce renewal Opportunities: Type Renewal, closing on the term's last day, its products from the standard
price book in the contract's currency at the uplifted prices, in one all-or-none composite; a retry adds nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from connectors.errors import BusinessRuleError
from connectors.registry import Adapters, make_adapter
from connectors.salesforce.renewal import DEAL_KEY
from models.catalog import BillingFrequency
from models.contract import ChangeRecord, Contract, ContractInput, ContractPolicy, NewSale, contract_id
from models.deal import DealLine
from models.money import Money
from models.saga import Stage
from ports import Crm
from tests.conftest import Sim
from tests.test_contract import env as env  # a server per test: the contract's timers are months away
from tests.test_salesforce_saga import SalesforceSagas
from workers.worker import activities_for, build_worker

UPLIFT = Decimal("0.05")


@pytest.fixture
async def salesforce(sim: Sim) -> AsyncIterator[Crm]:
    async with make_adapter("crm", "salesforce", sim.url, timeout_s=2.0) as crm:
        yield crm


@pytest.fixture
async def sf_default(ts_env: WorkflowEnvironment, sim: Sim, adapters: Adapters, salesforce: Crm) -> AsyncIterator[str]:
    """A worker whose CRM is Salesforce (HubSpot served too); its task queue."""
    task_queue = f"q2c-test-{uuid.uuid4().hex[:8]}"
    crms = {"salesforce": salesforce, "hubspot": adapters.crm}
    ports = (salesforce, adapters.erp, adapters.billing, adapters.support)
    async with build_worker(ts_env.client, task_queue, activities_for(*ports, crms=crms)):
        yield task_queue


def renewals(sim: Sim, key: str) -> list[dict[str, Any]]:
    return [r for r in sim.records("salesforce", "Opportunity") if r.get(DEAL_KEY) == key]


def lines_of(sim: Sim, opportunity_id: str) -> list[dict[str, Any]]:
    return sim.store.find("salesforce", "OpportunityLineItem", "OpportunityId", opportunity_id)


def line(sku: str, quantity: str, price: str, currency: str) -> DealLine:
    return DealLine(
        id=sku,
        sku=sku,
        name=sku,
        quantity=Decimal(quantity),
        unit_price=Money(amount=Decimal(price), currency=currency),
        frequency=BillingFrequency.ANNUALLY,
        start_date=date(2027, 12, 1),
    )


async def test_a_renewal_opportunity_carries_its_products_and_a_retry_adds_nothing(sim, salesforce):
    sagas = SalesforceSagas(None, "unused", sim)  # type: ignore[arg-type]  # for its seeded accounts only
    account = sagas.account(currency="EUR")
    key = f"q2c-contract-salesforce-{account}-{uuid.uuid4().hex[:6]}:renewal_deal:1"
    wanted = [line("PLAT-PRO", "6", "17325.00", "EUR"), line("SUP-PREM", "1", "5250.50", "EUR")]
    first = await salesforce.open_renewal_deal(account, "Renewal test", date(2027, 11, 30), "EUR", wanted, key)
    again = await salesforce.open_renewal_deal(account, "Renewal test", date(2027, 11, 30), "EUR", wanted, key)
    assert again == first and len(renewals(sim, key)) == 1
    opportunity = sim.store.get("salesforce", "Opportunity", first)
    assert (opportunity["Type"], opportunity["CloseDate"], opportunity["AccountId"]) == (
        "Renewal",
        "2027-11-30",
        account,
    )
    assert opportunity["IsWon"] is False and opportunity["CurrencyIsoCode"] == "EUR"
    standard = sim.manifest["salesforce"]["pricebook"]
    assert opportunity["Pricebook2Id"] == standard
    made = sorted(lines_of(sim, first), key=lambda x: x["ProductCode"])
    assert [(x["ProductCode"], Decimal(str(x["Quantity"])), Decimal(str(x["UnitPrice"]))) for x in made] == [
        ("PLAT-PRO", Decimal(6), Decimal("17325.00")),
        ("SUP-PREM", Decimal(1), Decimal("5250.50")),
    ]
    for made_line in made:  # each from the standard price book's entry in the contract's currency
        assert made_line["PricebookEntryId"] == sim.manifest["salesforce"]["entries"][f"{made_line['ProductCode']}:EUR"]
    deal = await salesforce.get_deal(first)  # and q2c reads it back as a renewal at those prices
    assert deal.kind.value == "renewal" and deal.amount == Money(amount=Decimal("109200.50"), currency="EUR")


async def test_a_product_missing_from_the_price_book_opens_nothing(sim, salesforce):
    sagas = SalesforceSagas(None, "unused", sim)  # type: ignore[arg-type]
    account = sagas.account(currency="USD")
    key = f"missing-{uuid.uuid4().hex[:6]}"
    wanted = [line("PLAT-PRO", "1", "100.00", "USD"), line("NO-SUCH-SKU", "1", "1.00", "USD")]
    with pytest.raises(BusinessRuleError, match="NO-SUCH-SKU"):
        await salesforce.open_renewal_deal(account, "Nothing", date(2027, 11, 30), "USD", wanted, key)
    assert renewals(sim, key) == []


async def test_a_salesforce_contract_at_its_renewal_notice_opens_the_renewal_opportunity(
    ts_env, sim, adapters, salesforce, sf_default, time_skipping
):
    sagas = SalesforceSagas(ts_env.client, sf_default, sim)
    account = sagas.fresh_account()
    deal_id = sagas.new_deal(["PLAT-PRO"], account=account)
    result = await sagas.finish(await sagas.start(deal_id))
    assert result.stage is Stage.COMPLETED, result.error
    deal = await salesforce.get_deal(deal_id)
    assert deal.company is not None
    wid = f"q2c-salesforce-{deal_id}"
    sale = NewSale(
        saga_id=wid,
        crm="salesforce",
        deal=deal,
        customer=deal.company,
        erp_customer_id=result.external_ids["upsert_customer"],
        order_id=result.external_ids["create_order"],
        term_start=date(2026, 12, 1),
        term_end=date(2027, 11, 30),
        tier="premium",
        subscriptions=[
            s["id"] for s in sim.records("stripe", "subscription") if s["metadata"].get("q2c_workflow_id") == wid
        ],
        correlation_id=f"test-{deal_id}",
    )
    workflow_id = contract_id("salesforce", account)
    handle = await ts_env.client.start_workflow(
        "Contract",
        ContractInput(sale=sale, policy=ContractPolicy(uplift=UPLIFT)),
        id=workflow_id,
        task_queue=sf_default,
        result_type=Contract,
    )
    await ts_env.sleep(timedelta(days=300))  # past the notice, 90 days before the term's end
    history = await handle.query("history", result_type=list[ChangeRecord])
    notice = next(r for r in history if r.kind == "renewal_due")
    renewal_id = (await handle.query("contract", result_type=Contract)).renewal_deal_id
    assert renewal_id is not None and f"renewal deal {renewal_id} opened" in notice.detail, notice.detail
    opportunity = sim.store.get("salesforce", "Opportunity", renewal_id)
    assert (opportunity["Type"], opportunity["CloseDate"], opportunity["AccountId"]) == (
        "Renewal",
        "2027-11-30",
        account,
    )
    currency = deal.currency
    [renewed] = lines_of(sim, renewal_id)
    assert renewed["ProductCode"] == "PLAT-PRO" and Decimal(str(renewed["Quantity"])) == 1
    [sold] = deal.lines
    assert Decimal(str(renewed["UnitPrice"])) == (sold.unit_price * (1 + UPLIFT)).rounded().amount
    assert renewed["PricebookEntryId"] == sim.manifest["salesforce"]["entries"][f"PLAT-PRO:{currency}"]
    # the activity retried (its answer lost, say): the same key finds the same Opportunity, no second set of lines
    key = f"{workflow_id}:renewal_deal:1"
    assert renewals(sim, key) == [opportunity]
    lines = [x.model_copy(update={"unit_price": (x.unit_price * (1 + UPLIFT)).rounded()}) for x in deal.lines]
    again = await salesforce.open_renewal_deal(account, "again", date(2027, 11, 30), currency, lines, key)
    assert again == renewal_id and len(lines_of(sim, renewal_id)) == 1 and len(renewals(sim, key)) == 1
    await handle.terminate("test done")
