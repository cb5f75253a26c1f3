"""What must hold between a contract and billing: each line billed at the contract's quantity, unit price and
interval, nothing billed beyond it.

Compared with the contract as its changes left it, not with the first deal: after an expansion the first deal's
quantities are wrong, and the contract's are right. Each mismatch names the contract, the line (its SKU), the
field and both values, so a person can act on it; q2c does not set billing back by itself (docs/contracts.md).
"""

from __future__ import annotations

from typing import Protocol

from models.amendments import BilledItem, SubscriptionDetail
from models.contract import Contract, ContractLine, ContractState
from models.reconcile import Drift, DriftItem

BILLING = ("active", "trialing", "past_due")


class Mismatch(Protocol):
    def __call__(self, line: str, field: str, ours: object, theirs: object, detail: str) -> None: ...


def contract_mismatches(contract: Contract, billed: list[SubscriptionDetail]) -> list[DriftItem]:
    """`contract_mismatch` per line whose billing differs; an ended or cancelled contract bills nothing to check."""
    if contract.state in (ContractState.ENDED, ContractState.CANCELLED):
        return []
    items = {item.item_id: (subscription, item) for subscription in billed for item in subscription.items}
    found: list[DriftItem] = []

    def mismatch(line: str, field: str, ours: object, theirs: object, detail: str) -> None:
        found.append(
            DriftItem(
                kind=Drift.CONTRACT_MISMATCH,
                deal_id=contract.contract_id,
                crm=contract.crm,
                system="billing",
                detail=f"{line}: {detail}",
                contract_id=contract.contract_id,
                line=line,
                field=field,
                contract_value=None if ours is None else str(ours),
                billing_value=None if theirs is None else str(theirs),
            )
        )

    for line in contract.lines:
        held = items.pop(line.item_id or "", None)
        if held is None:
            held = next(((s, i) for s, i in items.values() if i.price_id == line.price_id), None)
        if held is None:
            if line.quantity:
                detail = f"the contract has {line.quantity} at {line.unit_price}, billing bills none"
                mismatch(line.sku, "billed", line.quantity, None, detail)
            continue
        subscription, item = held
        ending = contract.state is ContractState.ENDING  # billing may have stopped at period end already
        if not ending and subscription.status not in BILLING:
            detail = f"the subscription {subscription.id} is {subscription.status}"
            mismatch(line.sku, "status", "active", subscription.status, detail)
        _compare(line, item, mismatch)
    lines = {line.price_id for line in contract.lines}
    for subscription, item in items.values():
        if item.price_id not in lines and item.quantity:
            sku = item.sku or item.price_id
            detail = f"billed ({item.quantity}) on {subscription.id}, not in the contract"
            mismatch(sku, "billed", None, item.quantity, detail)
    return found


def _compare(line: ContractLine, item: BilledItem, mismatch: Mismatch) -> None:
    if item.quantity != line.quantity:
        detail = f"billing bills {item.quantity}, the contract says {line.quantity}"
        mismatch(line.sku, "quantity", line.quantity, item.quantity, detail)
    if item.unit_amount != line.unit_price:
        detail = f"billing bills {item.unit_amount} a unit, the contract says {line.unit_price}"
        mismatch(line.sku, "unit_price", line.unit_price, item.unit_amount, detail)
    if item.frequency is not line.frequency:
        detail = f"billing bills it {item.frequency.value}, the contract says {line.frequency.value}"
        mismatch(line.sku, "interval", line.frequency.value, item.frequency.value, detail)
