"""A cancellation now, with and without the region's refund rule (`ContractPolicy.cancel_refund`), on the
time-skipping server against the simulators.

With the refund, Stripe's final invoice credits the unused time to the customer's balance and the ERP's return
order holds the same amount; both must be the figure of models/proration.py, recomputed here from the period
and the second Stripe cancelled at, to the minor unit. Without it, nothing is credited anywhere.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from models.amendments import BilledItem, Cancellation, SubscriptionDetail
from models.catalog import BillingFrequency
from models.common import Region
from models.contract import CancelContract, ChangeRecord, Contract, ContractInput, ContractPolicy, ContractState
from models.money import Money
from models.party import Customer
from models.proration import Period, prorated_minor
from tests.test_contract import env as env  # a server per test
from tests.test_contract import first_sale, history_until, open_contract, settled
from tests.test_contract_queue import keep
from workflows.contract.endings import credit_lines

NOW = CancelContract(at="now", requested_by="ops@example.com", reason="customer left")


def rule_credit(sim: Any, subscription_id: str, at: int) -> int:
    """Minus the unused time of every item, by the rule, over the subscription's period as Stripe holds it."""
    sub = sim.store.get("stripe", "subscription", subscription_id)
    period = Period(start=int(sub["current_period_start"]), end=int(sub["current_period_end"]))
    return -sum(
        prorated_minor(int(i["price"]["unit_amount"]), int(i["quantity"]), period, at) for i in sub["items"]["data"]
    )


def balances(sim: Any) -> int:
    """Stripe's customer balances, summed: the tests' deals share a company (tests/test_contract.py), made once
    by whichever test runs first, so the change across one test is what that test credited."""
    return sum(int(c.get("balance") or 0) for c in sim.records("stripe", "customer"))


async def cancelled_now(sagas: Any, adapters: Any, refund: bool) -> tuple[ChangeRecord, str, Any]:
    sale = await first_sale(sagas, adapters, ["PLAT-PRO"], {"PLAT-PRO": "2"})
    handle = await open_contract(sagas, sale, ContractInput(sale=sale, policy=ContractPolicy(cancel_refund=refund)))
    await history_until(handle, lambda history: bool(history) and history[0].kind == "new_business")
    await handle.signal("cancel_contract", NOW)
    record = (await history_until(handle, settled(2)))[-1]
    assert record.kind == "cancel_now" and record.outcome == "applied", record
    contract = await handle.query("contract", result_type=Contract)
    assert contract.state is ContractState.CANCELLED
    return record, sale.subscriptions[0], handle


async def test_a_cancellation_now_with_the_refund_rule_credits_the_same_in_billing_and_erp(sagas, adapters):
    sim = sagas.sim
    before = balances(sim)
    record, annual, handle = await cancelled_now(sagas, adapters, refund=True)
    sub = sim.store.get("stripe", "subscription", annual)
    assert sub["status"] == "canceled"
    final = sim.store.get("stripe", "invoice", sub["latest_invoice"])
    credits = [x for x in final["_lines"] if x["proration"] and int(x["amount"]) < 0]
    assert credits and {x["description"].split(" on ")[0] for x in credits} == {"Unused time"}
    at = credits[0]["period"]["start"]
    owed = rule_credit(sim, annual, at)
    assert owed < 0 and int(final["total"]) == owed  # Stripe's credit is the rule's figure, to the minor unit
    assert final["status"] == "paid" and balances(sim) == before + owed  # the credit: on the balance
    assert record.billing_amount == Money.from_minor_units(owed, "USD")
    assert record.erp_amount == record.billing_amount and record.erp_return_order_id and not record.erp_order_id
    returned = sim.store.get("netsuite", "returnAuthorization", record.erp_return_order_id)  # NetSuite refuses < 0
    assert sum(Decimal(str(x["amount"])) for x in returned["item"]["items"]) == -record.billing_amount.amount
    contract = await handle.query("contract", result_type=Contract)
    assert contract.erp_return_orders == [record.erp_return_order_id]
    # the shape since return orders; contract/cancel_refund keeps the sales order before them, replayed as recorded
    await keep(sagas.client.get_workflow_handle(record.saga_id), "cancel_refund_return_order")


async def test_a_cancellation_now_without_the_refund_rule_credits_nothing(sagas, adapters):
    sim = sagas.sim
    invoices_before = {i["id"] for i in sim.records("stripe", "invoice")}
    before = balances(sim)
    record, annual, _ = await cancelled_now(sagas, adapters, refund=False)
    sub = sim.store.get("stripe", "subscription", annual)
    assert sub["status"] == "canceled"
    made = [
        i for i in sim.records("stripe", "invoice") if i["id"] not in invoices_before and i["subscription"] == annual
    ]
    assert all(int(i["total"]) >= 0 for i in made)  # the sale's own invoice, no credit
    assert balances(sim) == before
    assert record.billing_amount is None and record.erp_amount is None and record.erp_order_id is None
    assert record.erp_return_order_id is None


def test_a_billing_credit_one_minor_unit_off_the_rule_is_named_per_item():
    period = Period(start=1_800_000_000, end=1_800_000_000 + 365 * 86400)
    unit = Money(amount=Decimal(18000), currency="USD")
    item = BilledItem(
        item_id="si_1",
        price_id="price_1",
        sku="PLAT-PRO",
        quantity=2,
        unit_amount=unit,
        frequency=BillingFrequency.ANNUALLY,
    )
    detail = SubscriptionDetail(id="sub_1", status="canceled", items=[item], period=period)
    at = period.start + 100 * 86400 + 17
    owed = -prorated_minor(unit.to_minor_units(), 2, period, at)
    contract = Contract(
        contract_id="q2c-contract-test",
        crm="hubspot",
        customer=Customer(id="c-1", legal_name="Cancel Test Inc", currency="USD", region=Region.NA),
        currency="USD",
        term_start=date(2027, 1, 15),
        term_end=date(2028, 1, 14),
        lines=[],
        erp_customer_id="1",
        tier="premium",
    )

    def billed(minor: int) -> Cancellation:
        credit = Money.from_minor_units(minor, "USD")
        return Cancellation(subscription=detail, at=at, credit=credit, credits={"si_1": credit})

    lines, mismatched = credit_lines(billed(owed), contract)
    assert mismatched == [] and [line.unit_price.to_minor_units() for line in lines] == [owed]
    assert lines[0].sku == "PLAT-PRO" and lines[0].quantity == 1
    _, mismatched = credit_lines(billed(owed + 1), contract)
    assert len(mismatched) == 1 and "2 x PLAT-PRO" in mismatched[0]
