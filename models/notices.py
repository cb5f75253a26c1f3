"""What a vendor's webhook means to q2c, once its adapter has read it: canonical, whatever the vendor."""

from __future__ import annotations

from pydantic import BaseModel, Field

from models.customer_sync import CustomerChange
from models.events import DealClosedWonV1


class IgnoredEvent(BaseModel):
    """A verified event q2c has no use for: answered 200 so the sender does not retry it."""

    event_id: str
    type: str


class CrmNotice(BaseModel):
    """One CRM delivery: the deals it closes (one each, first event wins) and customer attribute changes."""

    received: int = Field(description="events in the delivery")
    closed: list[DealClosedWonV1] = Field(default_factory=list)
    changes: list[CustomerChange] = Field(default_factory=list)


class ChangeNotice(BaseModel):
    """One support-tool event that changes a synchronised customer attribute."""

    event_id: str
    change: CustomerChange
