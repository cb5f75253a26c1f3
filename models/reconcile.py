"""Reconciliation: what it compares, the drift it names, and the report it writes."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from models.common import Region
from models.saga import SagaPolicy

RECONCILE_TYPE = "Reconciliation"
MAX_ITEMS = 1000  # items kept in the report; counts stay exact beyond it


class Drift(StrEnum):
    MISSING_SAGA = "missing_saga"  # a closed-won deal no saga has taken
    MISSING_ORDER = "missing_order"  # a completed saga whose ERP order is gone
    DUPLICATE_ORDER = "duplicate_order"
    AMOUNT_MISMATCH = "amount_mismatch"  # amount or currency differs between systems
    ENTITLEMENT_UNBILLED = "entitlement_unbilled"  # entitled, with no posted or paid invoice
    LEFT_BEHIND = "left_behind"  # a record an incomplete compensation left active
    SUPPORT_OUT_OF_DATE = "support_out_of_date"
    MASTER_DATA_MISMATCH = "master_data_mismatch"  # a customer attribute differs between the systems holding it
    CONTRACT_MISMATCH = "contract_mismatch"  # billing charges a line other than the contract says


class Repair(BaseModel):
    """What q2c can do about an item by itself."""

    action: str = Field(description="start_saga, cancel_subscription, close_order, update_support, sync_attribute")
    ref: str
    fields: dict[str, str] = Field(default_factory=dict)


class DriftItem(BaseModel):
    kind: Drift
    deal_id: str = Field(description="the deal; for a contract_mismatch found by the contract pages, the contract")
    crm: str | None = Field(default=None, description="the CRM the deal is in (deal ids are per CRM)")
    system: str
    detail: str
    repair: Repair | None = None
    repaired: str | None = None
    # a contract_mismatch names where, what and both values:
    contract_id: str | None = None
    line: str | None = Field(default=None, description="the contract line's SKU")
    field: str | None = Field(default=None, description="quantity, unit_price, interval, billed or status")
    contract_value: str | None = None
    billing_value: str | None = None

    @property
    def contract_key(self) -> tuple[str, str, str] | None:
        """One mismatch of one contract line, however it was found (a deal's customer, or the contract pages)."""
        if self.kind is not Drift.CONTRACT_MISMATCH or self.contract_id is None:
            return None
        return self.contract_id, self.line or "", self.field or ""


class ReconcileInput(BaseModel):
    """Which closed-won deals to check: those closed, entered closed-won or last changed in [since, until].

    The close date alone would miss a lost trigger whose close date says another day (set ahead, or
    backdated); the time the deal entered closed-won or last changed does not. `since` unset: the last
    `window_days` (scheduled runs); `until` unset: open-ended, so close dates in the future count too.
    """

    since: date | None = None
    until: date | None = None
    window_days: int = Field(default=30, ge=1)
    page_size: int = Field(default=100, ge=1, le=200)
    pages_per_run: int = Field(default=50, ge=1, description="pages before continuing as new")
    repair: bool = False
    policies: dict[Region, SagaPolicy] = Field(default_factory=dict, description="for sagas a repair starts")
    task_queue: str | None = None
    # carried across continue-as-new:
    cursor: str | None = None
    report: ReconciliationReport | None = None


class CheckDeals(BaseModel):
    after: str | None = Field(
        description="`<crm>|<its cursor>`, or `contracts|<visibility page token>`; a bare cursor is the first CRM's"
    )
    limit: int
    since: str | None
    until: str | None
    contracts: bool = Field(default=False, description="after the last CRM's deals, page through running contracts")


class DealsChecked(BaseModel):
    checked: int
    items: list[DriftItem]
    next_after: str | None
    contracts_checked: int = 0
    contracts_unlisted: str | None = Field(default=None, description="why running contracts could not be listed")

    def after_deals(self, checked: int, items: list[DriftItem]) -> DealsChecked:
        """A page of contracts read in the same activity as the last page of deals, reported as one page."""
        return self.model_copy(update={"checked": checked, "items": items + self.items})


class RepairInput(BaseModel):
    item: DriftItem
    idempotency_key: str


class ReconciliationReport(BaseModel):
    started_at: datetime
    finished_at: datetime | None = None
    since: date
    until: date
    checked: int = 0
    counts: dict[str, int] = Field(default_factory=dict)
    items: list[DriftItem] = Field(default_factory=list)
    omitted: int = Field(default=0, description="items past MAX_ITEMS, counted but not listed")
    runs: int = 1
    contracts_checked: int = 0
    contracts_unlisted: str | None = Field(default=None, description="why the running contracts were not checked")

    @property
    def clean(self) -> bool:
        """Deals or contracts were checked and none drifted: a run that checked nothing proves nothing."""
        return (self.checked > 0 or self.contracts_checked > 0) and not self.counts

    @property
    def verdict(self) -> str:
        """In words, for the report's first line and the run's search attribute."""
        if self.counts:
            return f"{sum(self.counts.values())} drift item(s)"
        return "clean" if self.clean else "nothing checked: no closed-won deal in the window"

    def add(self, items: list[DriftItem]) -> None:
        """Counted once each; a contract line's mismatch found twice (through a deal in the window and again in the
        contract pages) once, as far as the listed items tell (beyond MAX_ITEMS a repeat would be counted)."""
        kept = {key for item in self.items if (key := item.contract_key)}
        for item in items:
            if key := item.contract_key:
                if key in kept:
                    continue
                kept.add(key)
            self.counts[item.kind.value] = self.counts.get(item.kind.value, 0) + 1
            if len(self.items) < MAX_ITEMS:
                self.items.append(item)
            else:
                self.omitted += 1


ReconcileInput.model_rebuild()
