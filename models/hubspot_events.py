"""HubSpot's webhook payload: a JSON array of property-change events, delivered at least once."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class HubSpotEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    eventId: int  # HubSpot's field names, kept as sent
    subscriptionId: int
    portalId: int
    occurredAt: int = Field(description="ms since epoch")
    subscriptionType: str = Field(min_length=1)
    attemptNumber: int = 0
    objectId: int
    propertyName: str | None = None
    propertyValue: str | None = None
    changeSource: str | None = None

    @property
    def closes_a_deal(self) -> bool:
        return (
            self.subscriptionType == "deal.propertyChange"
            and self.propertyName == "dealstage"
            and self.propertyValue == "closedwon"
        )


HubSpotBatch = TypeAdapter(list[HubSpotEvent])
