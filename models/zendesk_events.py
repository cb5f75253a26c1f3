"""Zendesk organization events (its event webhooks), as far as customer master data needs them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from models.common import System
from models.customer_sync import CustomerChange, attribute_of

NAME_CHANGED = "zen:event-type:organization.name_changed"
FIELD_CHANGED = "zen:event-type:organization.custom_field_changed"


class ZendeskOrganization(BaseModel):
    id: str
    external_id: str | None = None


class ZendeskChange(BaseModel):
    current: Any = None
    previous: Any = None
    field: dict[str, Any] | None = Field(default=None, description="for custom fields: {'key': ...}")


class ZendeskEvent(BaseModel):
    id: str = Field(min_length=1)
    type: str
    time: datetime
    detail: ZendeskOrganization
    event: ZendeskChange

    def customer_change(self) -> CustomerChange | None:
        """The change to a synchronised attribute of a q2c customer, if this event is one."""
        if not self.detail.external_id:
            return None
        field = "name" if self.type == NAME_CHANGED else (self.event.field or {}).get("key")
        attribute = attribute_of(System.SUPPORT, str(field)) if self.type in (NAME_CHANGED, FIELD_CHANGED) else None
        if attribute is None:
            return None
        return CustomerChange(
            change_id=f"zendesk-{self.id}",
            customer_id=self.detail.external_id,
            source=System.SUPPORT,
            attribute=attribute,
            value=None if self.event.current is None else str(self.event.current),
            at=self.time,
            correlation_id=f"zendesk-{self.id}",
        )
