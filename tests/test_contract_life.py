"""Years of one contract in seconds on the time-skipping server: new, two expansions, a contraction, a renewal
with uplift, an expansion in the new term at the uplifted price, and a non-renewal that ends service on the
day after the term's last day. Every date comes from the workflow's clock; money is checked to the minor unit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from models.contract import ChangeRecord, Contract, ContractInput, ContractPolicy, ContractState
from models.deal import DealKind
from models.money import Money
from tests.test_contract import change_deal, first_sale, history_until, item, open_contract, settled
from tests.test_contract import env as env  # a server per test
from tests.test_contract_queue import keep

UPLIFT = Decimal("0.05")
PRO_USD = Money(amount=Decimal(18000), currency="USD")


def erp_total(sim: Any, order_id: str | None) -> Decimal:
    assert order_id is not None, "the change made no ERP order"
    lines = sim.store.get("netsuite", "salesOrder", order_id)["item"]["items"]
    return sum((Decimal(str(x["amount"])) for x in lines), Decimal(0))


async def test_three_years_of_a_contract(sagas, adapters, env, time_skipping):
    sim = sagas.sim
    sale = await first_sale(sagas, adapters, ["PLAT-PRO"], {"PLAT-PRO": "2"})
    handle = await open_contract(sagas, sale, ContractInput(sale=sale, policy=ContractPolicy(uplift=UPLIFT)))
    annual = sale.subscriptions[0]
    steps = [(DealKind.EXPANSION, "3", 5), (DealKind.EXPANSION, "2", 7), (DealKind.CONTRACTION, "1", 6)]
    for count, (kind, quantity, seats) in enumerate(steps, start=2):
        await env.sleep(timedelta(days=60))
        await handle.signal("change", await change_deal(sagas, adapters, kind, "PLAT-PRO", quantity))
        record = (await history_until(handle, settled(count)))[-1]
        assert record.outcome == "applied" and item(sim, annual, "PLAT-PRO")["quantity"] == seats, record
        if kind is DealKind.EXPANSION:  # billing and the ERP agree to the cent, by the same rule
            assert record.billing_amount is not None and record.billing_amount.amount > 0
            assert record.billing_amount == record.erp_amount
            assert erp_total(sim, record.erp_order_id) == record.billing_amount.amount
        else:  # a contraction without refund: no proration anywhere
            assert record.billing_amount == Money.zero("USD") and record.erp_order_id is None

    # the renewal notice falls 90 days before the term's end, on the contract's date
    await env.sleep(timedelta(days=180))
    history = await handle.query("history", result_type=list[ChangeRecord])
    notice = next(r for r in history if r.kind == "renewal_due")
    assert notice.accepted_at.date() == date(2027, 11, 30) - timedelta(days=90)
    # ... and the renewal deal is open in the CRM with the current lines at the region's uplift, closing at term end
    renewal_deal = (await handle.query("contract", result_type=Contract)).renewal_deal_id
    assert renewal_deal is not None and f"renewal deal {renewal_deal} opened" in notice.detail
    opened = await adapters.crm.get_deal(renewal_deal)
    assert opened.kind is DealKind.RENEWAL and not opened.closed_won and opened.close_date == date(2027, 11, 30)
    assert [(x.sku, x.quantity, x.unit_price) for x in opened.lines] == [
        ("PLAT-PRO", 6, (PRO_USD * (1 + UPLIFT)).rounded())
    ]

    await handle.signal("change", await change_deal(sagas, adapters, DealKind.RENEWAL, "PLAT-PRO", "6"))
    renewal = await history_until(handle, lambda h: any(r.kind == "renewal" and r.outcome == "applied" for r in h))
    renewed = next(r for r in renewal if r.kind == "renewal")
    contract = await handle.query("contract", result_type=Contract)
    uplifted = (PRO_USD * (1 + UPLIFT)).rounded()
    assert (contract.term_start, contract.term_end, contract.terms) == (date(2027, 12, 1), date(2028, 11, 30), 2)
    assert contract.line("PLAT-PRO").unit_price == uplifted and renewed.erp_amount == uplifted * 6
    assert erp_total(sim, renewed.erp_order_id) == (uplifted * 6).amount
    schedule = sim.store.get(
        "stripe", "subscription_schedule", sim.store.get("stripe", "subscription", annual)["schedule"]
    )
    phase = schedule["phases"][1]
    assert sim.store.get("stripe", "price", phase["items"][0]["price"])["unit_amount"] == uplifted.to_minor_units()
    assert phase["start_date"] == sim.store.get("stripe", "subscription", annual)["current_period_end"]  # not before

    # in the new term an expansion is billed at the uplifted price (the schedule's phase has begun)
    await env.sleep(timedelta(days=120))
    await handle.signal("change", await change_deal(sagas, adapters, DealKind.EXPANSION, "PLAT-PRO", "1"))
    record = (
        await history_until(handle, lambda h: sum(r.kind == "expansion" for r in h) == 3 and h[-1].outcome == "applied")
    )[-1]
    assert item(sim, annual, "PLAT-PRO")["price"]["unit_amount"] == uplifted.to_minor_units()
    assert record.billing_amount is not None and record.billing_amount == record.erp_amount
    assert erp_total(sim, record.erp_order_id) == record.billing_amount.amount

    # nobody renews the second term: billing cancels at period end, service ends after the term's last day
    result = await handle.result()
    await keep(handle, "three_years")
    assert result.state is ContractState.ENDED and result.ends_on == date(2028, 11, 30)
    history = await handle.query("history", result_type=list[ChangeRecord])
    ended = next(r for r in history if r.kind == "cancel_now")
    assert ended.accepted_at.date() == date(2028, 12, 1) and ended.accepted_at >= datetime(2028, 12, 1, tzinfo=UTC)
    assert sim.store.get("stripe", "subscription", annual)["cancel_at_period_end"] is True
    org = next(o for o in sim.records("zendesk", "organization") if o["external_id"] == sale.customer.id)
    assert org["organization_fields"]["entitlement_status"] == "revoked"
    assert org["organization_fields"]["contract_end"] == "2028-11-30"
    assert [r.kind for r in history if r.kind != "renewal_due"] == [
        "new_business",
        "expansion",
        "expansion",
        "contraction",
        "renewal",
        "expansion",
        "cancel_term_end",
        "cancel_now",
    ]
