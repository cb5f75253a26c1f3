"""CRM records: create, change, read and associate them as HubSpot does, and the closed-won side effects.

A deal moved into closed-won gets its close date set to that moment, as HubSpot does
(https://knowledge.hubspot.com/crm-deals/hubspots-default-deal-properties, "Close date"), unless the same
write sets one; `hs_date_entered_closedwon` records when it entered the stage; `hs_lastmodifieddate` moves
on every write. Then HubSpot's signed v3 webhook goes out.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

from connectors.hubspot import webhooks as hubspot_webhooks
from simulators.context import SimContext
from simulators.store import Record
from simulators.webhooks import deliver

from .errors import HubSpotError
from .schema import SYSTEM, Schema, iso

CLOSED_WON = "closedwon"
# v4 association type ids (HUBSPOT_DEFINED), both directions.
ASSOCIATION_TYPES = {
    ("deals", "line_items"): 19,
    ("line_items", "deals"): 20,
    ("deals", "companies"): 5,
    ("companies", "deals"): 6,
    ("contacts", "companies"): 1,
    ("companies", "contacts"): 2,
    ("deals", "contacts"): 3,
    ("contacts", "deals"): 4,
}
TYPE_BY_ID = {type_id: pair for pair, type_id in ASSOCIATION_TYPES.items()}
SINGULAR = {"deals": "deal", "line_items": "line_item", "companies": "company", "contacts": "contact"}
# What a read returns when it names no properties (HubSpot's defaults per object).
DEFAULT_PROPERTIES = {
    "deals": ["amount", "closedate", "dealname", "dealstage", "pipeline"],
    "companies": ["domain", "name"],
    "contacts": ["email", "firstname", "lastname"],
    "line_items": ["name", "price", "quantity", "amount"],
}
ALWAYS = ("hs_object_id", "createdate", "hs_lastmodifieddate")


def now_iso() -> str:
    return iso(datetime.now(UTC))


class Crm:
    def __init__(self, ctx: SimContext, schema: Schema) -> None:
        self.ctx, self.store, self.schema = ctx, ctx.store, schema

    # reading
    def view(self, record: Record) -> dict[str, str | None]:
        """Every property of a record, the ones HubSpot computes included."""
        return {
            **record["properties"],
            "hs_object_id": record["id"],
            "createdate": record["createdAt"],
            "hs_lastmodifieddate": record["updatedAt"],
        }

    def load(self, object_type: str, object_id: str, id_property: str | None = None, archived: bool = False) -> Record:
        if id_property and id_property != "hs_object_id":
            found = self.find_unique(object_type, id_property, object_id)
        else:
            found = self.store.get(SYSTEM, object_type, object_id)
        if found is None or bool(found.get("archived")) != archived:
            raise HubSpotError(404, "OBJECT_NOT_FOUND", f"resource not found: {SINGULAR[object_type]} {object_id}")
        return found

    def find_unique(self, object_type: str, id_property: str, value: str) -> Record | None:
        definition = self.schema.definitions(object_type).get(id_property)
        if definition is None or not definition.get("hasUniqueValue"):
            raise HubSpotError(
                400, "VALIDATION_ERROR", f"{id_property} is not a unique identifier property of {object_type}"
            )
        found = [r for r in self.store.find(SYSTEM, object_type, f"properties.{id_property}", value)]
        return next((r for r in found if not r.get("archived")), None)

    def live(self, object_type: str, archived: bool = False) -> list[Record]:
        records = [r for r in self.store.all(SYSTEM, object_type) if bool(r.get("archived")) == archived]
        return sorted(records, key=lambda r: int(r["id"]))

    def render(
        self,
        object_type: str,
        record: Record,
        properties: list[str] | None = None,
        associations: list[str] | None = None,
    ) -> Record:
        """The public object: requested properties (null when empty; unknown names left out) and links."""
        known, values = self.schema.definitions(object_type), self.view(record)
        names = [p for p in (properties or DEFAULT_PROPERTIES[object_type]) if p in known]
        shown = {name: values.get(name) for name in [*names, *ALWAYS]}
        out: Record = {
            "id": record["id"],
            "properties": shown,
            "createdAt": record["createdAt"],
            "updatedAt": record["updatedAt"],
            "archived": bool(record.get("archived")),
        }
        if record.get("archived"):
            out["archivedAt"] = record.get("archivedAt") or record["updatedAt"]
        links = record.get("associations", {})
        if associations and any(links.get(to) for to in associations):
            out["associations"] = {
                to: {"results": [{"id": i, "type": f"{SINGULAR[object_type]}_to_{SINGULAR[to]}"} for i in links[to]]}
                for to in associations
                if links.get(to)
            }
        return out

    # writing
    def create(self, object_type: str, properties: dict[str, Any], associations: list[Record] | None = None) -> Record:
        values = self.schema.clean(object_type, properties)
        targets = [self.association_target(object_type, a) for a in associations or []]
        stamp = now_iso()
        start = 10000 if object_type == "deals" else 50000
        record_id = str(self.store.next_id(f"hubspot:{object_type}", start))
        record: Record = {
            "id": record_id,
            "properties": values,
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
            "associations": {},
        }
        if object_type == "deals":
            self.stage_effects(record, None, set(values), stamp)
        self.store.put(SYSTEM, object_type, record_id, record)
        for to_type, to_id in targets:
            self.associate(object_type, record_id, to_type, to_id)
        return self.store.get(SYSTEM, object_type, record_id) or record

    def update(self, object_type: str, record: Record, properties: dict[str, Any]) -> Record:
        values = self.schema.clean(object_type, properties)
        before = record["properties"].get("dealstage")
        record["properties"].update(values)
        stamp = now_iso()
        record["updatedAt"] = stamp
        entered = object_type == "deals" and self.stage_effects(record, before, set(values), stamp)
        self.store.put(SYSTEM, object_type, record["id"], record)
        if entered:
            self.notify_closed_won(record)
        return record

    def archive(self, object_type: str, record: Record) -> None:
        record.update({"archived": True, "archivedAt": now_iso()})
        self.store.put(SYSTEM, object_type, record["id"], record)

    @staticmethod
    def stage_effects(deal: Record, before: str | None, written: set[str], stamp: str) -> bool:
        """True when the deal has just entered closed-won."""
        p = deal["properties"]
        won = p.get("dealstage") == CLOSED_WON
        if "dealstage" in written:
            p["hs_is_closed_won"] = "true" if won else "false"
        if not won or before == CLOSED_WON:
            return False
        p["hs_date_entered_closedwon"] = stamp
        if "closedate" not in written or not p.get("closedate"):
            p["closedate"] = stamp
        return True

    def association_target(self, object_type: str, association: Record) -> tuple[str, str]:
        try:
            type_id = int(association["types"][0]["associationTypeId"])
            to_id = str(association["to"]["id"])
        except (KeyError, IndexError, TypeError, ValueError):
            raise HubSpotError(400, "INVALID_ASSOCIATION", "an association needs to.id and types[0]") from None
        pair = TYPE_BY_ID.get(type_id)
        if pair is None or pair[0] != object_type:
            raise HubSpotError(400, "INVALID_ASSOCIATION", f"{type_id} is not an association type of {object_type}")
        self.load(pair[1], to_id)
        return pair[1], to_id

    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        for a_type, a_id, b_type, b_id in ((from_type, from_id, to_type, to_id), (to_type, to_id, from_type, from_id)):
            record = self.load(a_type, a_id)
            linked = record.setdefault("associations", {}).setdefault(b_type, [])
            if b_id not in linked:
                linked.append(b_id)
                self.store.put(SYSTEM, a_type, a_id, record)

    def notify_closed_won(self, deal: Record) -> None:
        """HubSpot's `deal.propertyChange` webhook, signed (v3 and v1), at least once (copies > 1: several at once).

        https://developers.hubspot.com/docs/api/webhooks/validating-requests
        """
        ctx, store = self.ctx, self.store
        url = store.setting("hubspot_webhook_url", ctx.settings.hubspot_webhook_url)
        if not url:
            return
        secret = store.setting("hubspot_app_secret", ctx.settings.hubspot_app_secret)
        event_id = store.next_id("hubspot:event", 1)
        event = {
            "eventId": event_id,
            "subscriptionId": 2001,
            "portalId": 62515,
            "appId": 3001,
            "occurredAt": int(time.time() * 1000),
            "subscriptionType": "deal.propertyChange",
            "attemptNumber": 0,
            "objectId": int(deal["id"]),
            "propertyName": "dealstage",
            "propertyValue": CLOSED_WON,
            "changeSource": "CRM_UI",
        }
        body = json.dumps([event]).encode()

        def sign(payload: bytes) -> dict[str, str]:
            timestamp = int(time.time() * 1000)
            return {
                "X-HubSpot-Signature-v3": hubspot_webhooks.sign(secret, "POST", url, payload, timestamp),
                "X-HubSpot-Request-Timestamp": str(timestamp),
                # Webhooks-API events also carry the v1 signature and name it as their version.
                "X-HubSpot-Signature": hashlib.sha256(secret.encode() + payload).hexdigest(),
                "X-HubSpot-Signature-Version": "v1",
            }

        async def send() -> None:
            await deliver(ctx, SYSTEM, str(event_id), url, body, sign)

        for _ in range(int(store.setting("hubspot_webhook_copies", ctx.settings.webhook_copies))):
            ctx.background(send)
