"""What must hold between a contract and billing: each line billed at the contract's quantity and unit price.

Compared with the contract as its changes left it, not with the first deal: after an expansion the first deal's
quantities are wrong, and the contract's are right.
"""

from __future__ import annotations

from models.amendments import SubscriptionDetail
from models.contract import Contract, ContractState
from models.reconcile import Drift, DriftItem


def contract_drift(contract: Contract, billed: list[SubscriptionDetail]) -> list[DriftItem]:
    """`contract_mismatch` per line whose billing differs (quantity, unit price, or billed at all), naming it."""
    if contract.state in (ContractState.ENDED, ContractState.CANCELLED):
        return []
    items = {item.item_id: (subscription, item) for subscription in billed for item in subscription.items}
    found: list[DriftItem] = []

    def mismatch(line: str, detail: str) -> None:
        found.append(
            DriftItem(
                kind=Drift.CONTRACT_MISMATCH,
                deal_id=contract.contract_id,
                crm=contract.crm,
                system="billing",
                detail=f"{line}: {detail}",
            )
        )

    for line in contract.lines:
        held = items.pop(line.item_id or "", None)
        if held is None:
            held = next(((s, i) for s, i in items.values() if i.price_id == line.price_id), None)
        if held is None:
            mismatch(line.sku, f"the contract has {line.quantity} at {line.unit_price}, billing bills none")
            continue
        subscription, item = held
        ending = contract.state is ContractState.ENDING  # billing may have stopped at period end already
        if not ending and subscription.status not in ("active", "trialing", "past_due"):
            mismatch(line.sku, f"the subscription {subscription.id} is {subscription.status}")
        if item.quantity != line.quantity:
            mismatch(line.sku, f"billing bills {item.quantity}, the contract says {line.quantity}")
        if item.unit_amount != line.unit_price:
            mismatch(line.sku, f"billing bills {item.unit_amount} a unit, the contract says {line.unit_price}")
    for subscription, item in items.values():
        if item.price_id not in {line.price_id for line in contract.lines}:
            mismatch(item.sku or item.price_id, f"billed ({item.quantity}) on {subscription.id}, not in the contract")
    return found
