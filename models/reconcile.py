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
    deal_id: str
    crm: str | None = Field(default=None, description="the CRM the deal is in (deal ids are per CRM)")
    system: str
    detail: str
    repair: Repair | None = None
    repaired: str | None = None


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
    after: str | None = Field(description="`<crm>|<the CRM's cursor>`; a bare cursor is the first CRM's")
    limit: int
    since: str | None
    until: str | None


class DealsChecked(BaseModel):
    checked: int
    items: list[DriftItem]
    next_after: str | None


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

    @property
    def clean(self) -> bool:
        """Deals were checked and none drifted: a run that checked nothing proves nothing."""
        return self.checked > 0 and not self.counts

    @property
    def verdict(self) -> str:
        """In words, for the report's first line and the run's search attribute."""
        if self.counts:
            return f"{sum(self.counts.values())} drift item(s)"
        return "clean" if self.checked else "nothing checked: no closed-won deal in the window"

    def add(self, items: list[DriftItem]) -> None:
        for item in items:
            self.counts[item.kind.value] = self.counts.get(item.kind.value, 0) + 1
            if len(self.items) < MAX_ITEMS:
                self.items.append(item)
            else:
                self.omitted += 1


ReconcileInput.model_rebuild()
