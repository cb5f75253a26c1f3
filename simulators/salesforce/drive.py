"""Driving the Salesforce simulator from outside, as its users would: an opportunity won, what a seeded
opportunity holds, where its Outbound Messages go. For the demo, the benchmarks and the chaos suite."""

from __future__ import annotations

from typing import Any

import httpx

from simulators.store import Store

NAME = "salesforce"


async def close_deal(admin: httpx.AsyncClient, deal_id: str) -> None:
    """Move a seeded opportunity to Closed Won: its Outbound Message goes out (`admin`: the simulators' /_sim)."""
    (await admin.post(f"/{NAME}/opportunities/{deal_id}/close")).raise_for_status()


async def send_outbound_messages_to(admin: httpx.AsyncClient, url: str, copies: int = 1) -> None:
    """Where a won opportunity's Outbound Message goes (the listener's URL, as an admin sets it in Setup)."""
    (await admin.put(f"/webhooks/{NAME}", json={"url": url, "copies": copies})).raise_for_status()


def has_one_time_lines(store: Store, deal_id: str) -> bool:
    """Whether an opportunity has a line whose product is billed once: one the ERP invoices."""
    lines = [line for line in store.all(NAME, "OpportunityLineItem") if line.get("OpportunityId") == deal_id]
    return any(line.get("Billing_Frequency__c") in (None, "One-Time") for line in lines)


def deals(manifest: dict[str, Any]) -> dict[str, list[str]]:
    """The seeded opportunities by story (ordinary, over_credit, no_tax, inactive, existing)."""
    found: dict[str, list[str]] = manifest[NAME]["deals"]
    return found
