"""`q2c demo --story contract`: a contract's life, checked in every system.

One customer buys, expands mid-term and renews at the region's uplift; another does not renew and keeps
support through the term's last day, not a day more. A year cannot pass on the dev server in a demo, so
this chapter runs on Temporal's time-skipping test server with the same workflows and activities, the
connectors calling fresh simulators over HTTP. Every date comes from the contract's durable timers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from rich.console import Console

from devstack.contract_checks import Check, Checker, day_after, outcome_table
from devstack.contract_rig import POLICY, SKU, UPLIFT, Rig, applied, rig
from models.contract import ContractState


def midday(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


async def story(r: Rig, say: Callable[[str], None]) -> list[Check]:
    """The chapter itself; every check it makes is returned (the test and the demo both judge them)."""
    check = Checker(r.store)
    companies = [c["id"] for c in r.store.all("hubspot", "companies")[4:] if c["properties"].get("currency") == "USD"]
    renewing, lapsing = companies[0], companies[1]
    today = (await r.today()).date()
    start = date(today.year + today.month // 12, today.month % 12 + 1, 1)  # the first of next month
    say(f"{today}: customer {renewing} buys 2 x {SKU}, customer {lapsing} 3 x {SKU}, a year from {start}")
    sales = {
        renewing: await r.deal(renewing, "newbusiness", 2, start),
        lapsing: await r.deal(lapsing, "newbusiness", 3, start),
    }
    for company, deal_id in sales.items():
        await r.saga(deal_id)
        contract, _ = await r.contract(company, applied("new_business"))
        check.at(str(today), company)
        check.erp_order("sale", contract.erp_orders[0], contract.recurring_total)
        check.billing_lines(contract)
        check.support(contract, "active")
        check.milestone(deal_id, "completed", contract.erp_orders[0])
    term_end = contract.term_end

    await r.sleep_until(midday(start + timedelta(days=150)))
    today = (await r.today()).date()
    say(f"{today}: customer {renewing} adds 3 seats mid-term; billing prorates, the ERP order agrees to the cent")
    expansion = await r.deal(renewing, "expansion", 3, start)
    await r.saga(expansion)
    contract, history = await r.contract(renewing, applied("expansion"))
    record = next(x for x in history if x.kind == "expansion")
    check.at(str(today), renewing)
    line = contract.line(SKU)
    assert line is not None
    check.billing_lines(contract)
    prorated = check.proration(line, before=2, record=record)
    check.erp_order("change", record.erp_order_id, prorated)
    check.milestone(expansion, "completed", record.erp_order_id)

    await r.sleep_until(midday(term_end - timedelta(days=POLICY.renewal_notice_days)))
    today = (await r.today()).date()
    say(f"{today}: {POLICY.renewal_notice_days} days before {term_end}, q2c opens both renewal deals in the CRM")
    opened = {}
    for company in (renewing, lapsing):
        contract, _ = await r.contract(company, lambda h: any(x.kind == "renewal_due" for x in h))
        check.at(str(today), company).renewal_deal(contract, UPLIFT)
        opened[company] = contract.renewal_deal_id
    say(f"{today}: the renewal of {renewing} is won at {UPLIFT:.0%} uplift; {lapsing}'s is lost")
    await r.close(opened[renewing] or "", "closedwon")
    await r.close(opened[lapsing] or "", "closedlost")
    await r.saga(opened[renewing] or "")
    contract, history = await r.contract(renewing, applied("renewal"))
    record = next(x for x in history if x.kind == "renewal")
    check.at(str(today), renewing)
    check.erp_order("renewal", record.erp_order_id, contract.recurring_total)
    check.renewal_phase(contract)
    check.support(contract, "active")
    check.milestone(opened[renewing], "completed", record.erp_order_id)

    await r.sleep_until(midday(term_end))
    say(f"{term_end}: the last day of {lapsing}'s term: billing ends at period end, support still runs")
    contract, _ = await r.contract(lapsing, lambda h: any(x.kind == "cancel_term_end" for x in h))
    check.at(str(term_end), lapsing)
    check.add(
        "contract",
        "state, ends on",
        f"{ContractState.ENDING.value}, {term_end}",
        f"{contract.state.value}, {contract.ends_on}",
    )
    check.billing_ends(contract, "active", True)
    check.support(contract, "active")

    await r.ended(lapsing)
    say(f"{day_after(contract)}: at midnight after the last day {lapsing} loses support; {renewing} goes on")
    contract, history = await r.contract(lapsing, applied("cancel_now"))
    ended = next(x for x in history if x.kind == "cancel_now")
    check.at(day_after(contract), lapsing)
    check.add("contract", "state, ends on, service ended at", f"ended, {term_end}, {day_after(contract)} 00:00 UTC",
              f"{contract.state.value}, {contract.ends_on}, {ended.accepted_at:%Y-%m-%d %H:%M %Z}")  # fmt: skip
    check.billing_ends(contract, "canceled", True)
    check.support(contract, "revoked")
    check.at(day_after(contract), renewing)
    contract, _ = await r.contract(renewing, applied("renewal"))
    check.add("contract", "state, term", f"active, 2 from {term_end + timedelta(days=1)}",
              f"{contract.state.value}, {contract.terms} from {contract.term_start}")  # fmt: skip
    check.support(contract, "active")
    return check.checks


async def run_contract_story(console: Console) -> int:
    """The chapter as `q2c demo` shows it; non-zero when any system disagrees with the contract."""
    console.print("[bold]contract story[/bold]: on Temporal's time-skipping test server, a year in seconds")
    began = asyncio.get_running_loop().time()
    async with rig() as r:
        checks = await story(r, lambda line: console.print(f"  {line}", highlight=False))
    console.print(outcome_table(checks))
    for gap in sorted({c.known for c in checks if c.known and not c.ok}):
        console.print(f"[yellow]known gap[/yellow]: {gap}", highlight=False)
    failed = [c for c in checks if c.failed]
    took = asyncio.get_running_loop().time() - began
    if failed:
        console.print(f"[red]{len(failed)} of {len(checks)} checks disagree with the contract[/red]")
        return 1
    agree = sum(c.ok for c in checks)
    gaps = f", {len(checks) - agree} known gap(s) shown above" if agree < len(checks) else ""
    console.print(
        f"[green]{agree} of {len(checks)} checks agree with the contract in every system{gaps} ({took:.0f} s)[/green]"
    )
    return 0
