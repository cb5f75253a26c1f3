"""What a change does to a contract, and when a contract's dates fall: pure functions, safe in a workflow."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.amendments import BilledItem, ItemChange, SubscriptionDetail
    from models.contract import Contract, ContractLine, ContractPolicy
    from models.deal import Deal, DealKind
    from models.money import Money
    from models.proration import proration_lines

AMENDMENTS = frozenset({DealKind.EXPANSION, DealKind.CONTRACTION})
TIERS = ("standard", "premium", "enterprise")  # as QuoteToCash ranks them (not imported: a lighter sandbox)


def highest_tier(tiers: list[str]) -> str:
    return max(tiers, key=TIERS.index, default=TIERS[0])


def midnight(day: date) -> datetime:
    """The first second of a day, UTC: a contract's dates are days, its timers instants."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def renewal_notice(contract: Contract, policy: ContractPolicy) -> datetime:
    return midnight(contract.term_end - timedelta(days=policy.renewal_notice_days))


def service_ends(contract: Contract) -> datetime:
    """Service runs through the term's last day: it ends at the next midnight."""
    return midnight(contract.term_end + timedelta(days=1))


def misfit(contract: Contract | None, deal: Deal, today: date) -> str | None:
    """Why this deal does not fit the contract (it then parks for a person), or None."""
    if contract is None:
        return f"a {deal.kind.value} deal for a customer with no contract"
    if contract.state.value in ("ended", "cancelled"):
        return f"a {deal.kind.value} deal for a contract that has {contract.state.value}"
    if deal.currency != contract.currency:
        return f"deal currency {deal.currency} differs from the contract's {contract.currency}"
    if deal.kind in AMENDMENTS and today > contract.term_end:
        return f"the term ended on {contract.term_end}"
    if deal.kind is DealKind.CONTRACTION:
        for line in deal.lines:
            held = contract.line(line.sku)
            if held is None or held.quantity < line.quantity:
                have = held.quantity if held else 0
                return f"contraction of {line.quantity} x {line.sku} but the contract has {have}"
    if deal.kind is DealKind.EXPANSION:
        for sku in new_skus(contract, deal):
            if subscription_for(contract, deal, sku) is None:
                return f"{sku} is billed at a frequency no subscription of the contract has"
    return None


def target_quantities(contract: Contract, deal: Deal) -> dict[str, int]:
    """SKU -> quantity after the change: an expansion adds the deal's quantities, a contraction takes them away."""
    sign = -1 if deal.kind is DealKind.CONTRACTION else 1
    after = {line.sku: line.quantity for line in contract.lines}
    for line in deal.lines_by(recurring=True):
        after[line.sku] = after.get(line.sku, 0) + sign * int(line.quantity)
    return after


def item_changes(
    contract: Contract, deal: Deal, after: dict[str, int], prices: dict[str, str]
) -> dict[str, list[ItemChange]]:
    """Subscription id -> the item changes that bring it to `after`; a new SKU joins the subscription that
    bills its frequency (its price id from `prices`)."""
    changes: dict[str, list[ItemChange]] = {}
    for sku, quantity in after.items():
        held = contract.line(sku)
        if held is not None and held.quantity == quantity:
            continue
        if held is not None and held.subscription_id:
            change = ItemChange(item_id=held.item_id, price_id=held.price_id or prices[sku], quantity=quantity)
            changes.setdefault(held.subscription_id, []).append(change)
        elif held is None and (subscription := subscription_for(contract, deal, sku)):
            changes.setdefault(subscription, []).append(ItemChange(price_id=prices[sku], quantity=quantity))
    return changes


def new_skus(contract: Contract, deal: Deal) -> list[str]:
    return [line.sku for line in deal.lines_by(recurring=True) if contract.line(line.sku) is None]


def subscription_for(contract: Contract, deal: Deal, sku: str) -> str | None:
    """The subscription billing the same frequency as the deal's line for `sku`."""
    frequency = next(line.frequency for line in deal.lines if line.sku == sku)
    return next((x.subscription_id for x in contract.lines if x.frequency is frequency and x.subscription_id), None)


def sku_of(item: BilledItem, contract: Contract) -> str:
    """An item's SKU: the contract's line for it (a renewal's price has no lookup key), else its price's key."""
    held = next((line for line in contract.lines if line.item_id == item.item_id), None)
    return held.sku if held else item.sku or item.price_id


def erp_lines(
    before: SubscriptionDetail, after: SubscriptionDetail, at: int, contract: Contract
) -> tuple[list[ContractLine], Money]:
    """The ERP change order's lines: per SKU, the net of Stripe's rule (models.proration) over the period billing
    used, so the order and billing agree to the minor unit. Quantity 1 at the net amount."""
    period, currency = after.period, contract.currency
    was = {i.item_id: i for i in before.items}  # by item: a schedule's phase may have changed its price since
    lines, total = [], Money.zero(currency)
    for item in after.items:
        old = was.get(item.item_id)
        old_quantity = old.quantity if old else 0
        if old_quantity == item.quantity:
            continue
        sku = sku_of(item, contract)
        net = Money.zero(currency)
        for part in proration_lines(sku, item.unit_amount, old_quantity, item.quantity, period, at):
            net = net + part.amount
        total = total + net
        lines.append(ContractLine(sku=sku, quantity=1, unit_price=net, frequency=item.frequency))
    return lines, total


def owes_customer(lines: list[ContractLine]) -> bool:
    """A change whose lines total below zero: the ERP holds it as a return order, never as a sales order."""
    return sum(line.unit_price.amount * line.quantity for line in lines) < 0
