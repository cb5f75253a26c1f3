"""The contract story's checks: what each system holds (the simulators' records), set against the contract.

Each check names a system, the record and the contract's value beside the system's; money is compared as
`Money` to the minor unit (Stripe's integer amounts, NetSuite's decimal lines), never as floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import groupby
from typing import Any

from rich.table import Table

from models.contract import ChangeRecord, Contract, ContractLine
from models.money import Money
from models.proration import Period, proration_lines
from simulators.store import Store


@dataclass
class Check:
    """One comparison: `expected` comes from the contract (or its history), `found` from the system's record."""

    when: str
    customer: str
    system: str
    record: str
    expected: str
    found: str
    known: str = ""  # a gap q2c knows of and documents: shown, not failed

    @property
    def ok(self) -> bool:
        return self.expected == self.found

    @property
    def failed(self) -> bool:
        return not self.ok and not self.known


class Checker:
    """Reads one simulator store; `when` and `customer` label the checks of the moment being looked at."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.checks: list[Check] = []
        self.when, self.customer = "", ""

    def at(self, when: str, customer: str) -> Checker:
        self.when, self.customer = when, customer
        return self

    def add(self, system: str, record: str, expected: object, found: object, known: str = "") -> None:
        self.checks.append(Check(self.when, self.customer, system, record, str(expected), str(found), known))

    # ---- ERP (NetSuite) ----
    def erp_total(self, order_id: str | None, currency: str) -> Money | str:
        if order_id is None:
            return "no order"
        order = self.store.get("netsuite", "salesOrder", order_id)
        if order is None:
            return f"order {order_id} missing"
        amounts = [Decimal(str(line["amount"])) for line in order["item"]["items"]]
        return Money(amount=sum(amounts, Decimal(0)), currency=currency)

    def erp_order(self, what: str, order_id: str | None, expected: Money) -> None:
        self.add("ERP", f"{what} order {order_id}", expected, self.erp_total(order_id, expected.currency))

    # ---- billing (Stripe) ----
    def subscription(self, subscription_id: str | None) -> dict[str, Any]:
        return self.store.get("stripe", "subscription", subscription_id or "") or {}

    def billing_lines(self, contract: Contract) -> None:
        """Each contract line against its subscription item: quantity and unit price in minor units."""
        for line in contract.lines:
            sub = self.subscription(line.subscription_id)
            item = next((i for i in sub.get("items", {}).get("data", []) if i["id"] == line.item_id), None)
            if item is None and line.price_id:  # the item id is read when the first change needs it
                item = next((i for i in sub["items"]["data"] if i["price"]["id"] == line.price_id), None)
            found = f"{item['quantity']} x {self.minor(item['price']['unit_amount'], contract)}" if item else "none"
            self.add(
                "billing", f"{line.subscription_id} item {line.sku}", f"{line.quantity} x {line.unit_price}", found
            )

    def proration(self, line: ContractLine, before: int, record: ChangeRecord) -> Money:
        """The change's proration invoice against Stripe's rule (models.proration) applied to the contract's price
        and seats over billing's period from the change's instant; returns what the rule says."""
        sub = self.subscription(line.subscription_id)
        updates = [
            i
            for i in self.store.all("stripe", "invoice")
            if i.get("subscription") == sub.get("id") and i.get("billing_reason") == "subscription_update"
        ]
        if not updates:
            self.add("billing", "proration invoice", record.billing_amount, "none")
            return Money.zero(line.unit_price.currency)
        invoice = updates[-1]
        at = int(invoice["subscription_proration_date"])  # the instant billing prorated from
        period = Period(start=int(sub["current_period_start"]), end=int(sub["current_period_end"]))
        parts = proration_lines(line.sku, line.unit_price, before, line.quantity, period, at)
        expected = sum((p.amount for p in parts), Money.zero(line.unit_price.currency))
        left = f"{period.fraction_left(at):.1%} of the period left"
        found = Money.from_minor_units(int(invoice["total"]), line.unit_price.currency)
        self.add("billing", f"proration invoice {invoice['id']}: {before} -> {line.quantity}, {left}", expected, found)
        self.add("contract", "history: billed, ERP amount", f"{expected}, {expected}",
                 f"{record.billing_amount}, {record.erp_amount}")  # fmt: skip
        return expected

    def renewal_phase(self, contract: Contract) -> None:
        """The new term's prices are a schedule phase that begins when billing's period ends (Stripe applies it
        then, never before); that moment must be the new term's first day (billing is anchored to the term)."""
        for subscription in sorted({line.subscription_id for line in contract.lines if line.subscription_id}):
            sub = self.subscription(subscription)
            schedule = self.store.get("stripe", "subscription_schedule", sub.get("schedule") or "") or {}
            end = int(sub.get("current_period_end", 0))
            phase = next((p for p in schedule.get("phases", []) if int(p["start_date"]) == end), None)
            found = "no phase" if phase is None else self.phase_items(phase, contract)
            expected = ", ".join(
                f"{x.quantity} x {x.unit_price}" for x in contract.lines if x.subscription_id == subscription
            )
            self.add("billing", f"{subscription} schedule phase at period end", expected, found)
            begins = datetime.fromtimestamp(end, UTC).date() if phase else None
            self.add("billing", f"{subscription} new prices from", contract.term_start, begins)

    def phase_items(self, phase: dict[str, Any], contract: Contract) -> str:
        parts = []
        for wanted in phase["items"]:
            price = self.store.get("stripe", "price", wanted["price"]) or {}
            parts.append(f"{wanted.get('quantity', 1)} x {self.minor(price.get('unit_amount', 0), contract)}")
        return ", ".join(parts)

    def billing_ends(self, contract: Contract, status: str, at_period_end: bool) -> None:
        for subscription in sorted({line.subscription_id for line in contract.lines if line.subscription_id}):
            sub = self.subscription(subscription)
            self.add(
                "billing",
                f"{subscription} status, cancel_at_period_end",
                f"{status}, {at_period_end}",
                f"{sub.get('status')}, {sub.get('cancel_at_period_end')}",
            )

    @staticmethod
    def minor(amount: int, contract: Contract) -> Money:
        return Money.from_minor_units(int(amount), contract.currency)

    # ---- support (Zendesk) ----
    def support(self, contract: Contract, entitlement: str) -> None:
        org = next(
            (o for o in self.store.all("zendesk", "organization") if o.get("external_id") == contract.customer.id), {}
        )
        fields = org.get("organization_fields", {})
        self.add("support", f"organization {org.get('id')} service_tier", contract.tier, fields.get("service_tier"))
        end = contract.ends_on or contract.support_end or contract.term_end
        self.add("support", "contract_end, entitlement_status", f"{end}, {entitlement}",
                 f"{fields.get('contract_end')}, {fields.get('entitlement_status')}")  # fmt: skip

    # ---- CRM (HubSpot) ----
    def milestone(self, deal_id: str | None, status: str, order_id: str | None = None) -> None:
        deal = self.store.get("hubspot", "deals", deal_id or "") or {"properties": {}}
        found = deal["properties"].get("q2c_status")
        self.add("CRM", f"deal {deal_id} q2c_status", status, found)
        if order_id is not None:  # every deal names its order by number (tranId), as the ERP's users see it
            number = deal["properties"].get("erp_order_number")
            named = next(
                (o["id"] for o in self.store.all("netsuite", "salesOrder") if o.get("tranId") == number),
                f"{number} (no such order)",
            )
            self.add("CRM", f"deal {deal_id} erp_order_number {number}", f"order {order_id}", f"order {named}")

    def renewal_deal(self, contract: Contract, uplift: Decimal) -> None:
        """The renewal deal q2c opened: open, closing on the term's last day, the current lines at the uplift."""
        deal = self.store.get("hubspot", "deals", contract.renewal_deal_id or "")
        if deal is None:
            self.add("CRM", "renewal deal", "opened", "none")
            return
        props = deal["properties"]
        self.add("CRM", f"renewal deal {deal['id']} type, close date", f"renewal, {contract.term_end}",
                 f"{props.get('dealtype')}, {props.get('closedate', '')[:10]}")  # fmt: skip
        lines = [self.store.get("hubspot", "line_items", i) or {} for i in deal["associations"].get("line_items", [])]
        found = sorted(
            f"{x['properties']['hs_sku']} {x['properties']['quantity']} x "
            f"{Money(amount=Decimal(x['properties']['price']), currency=contract.currency)}"
            for x in lines
        )
        expected = sorted(
            f"{x.sku} {x.quantity} x {(x.unit_price * (1 + uplift)).rounded()}" for x in contract.lines if x.quantity
        )
        self.add("CRM", f"renewal deal {deal['id']} lines", "; ".join(expected), "; ".join(found))


def day_after(contract: Contract) -> str:
    return (contract.term_end + timedelta(days=1)).isoformat()


def outcome_table(checks: list[Check]) -> Table:
    """The checks by moment and customer: what the contract says beside what each system holds."""
    shown = Table(title="contract story: every system's records against the contract", show_lines=False)
    for column in ("system", "record", "contract says", "system holds", "verified"):
        shown.add_column(column, overflow="fold")
    for (when, customer), moment in groupby(checks, key=lambda c: (c.when, c.customer)):
        shown.add_section()
        shown.add_row(f"[bold]{when}[/bold]", f"[bold]customer {customer}[/bold]", "", "", "")
        for c in moment:
            verdict = "[green]yes[/green]" if c.ok else "[yellow]known gap[/yellow]" if c.known else "[red]NO[/red]"
            shown.add_row(c.system, c.record, c.expected, c.found, verdict)
    return shown
