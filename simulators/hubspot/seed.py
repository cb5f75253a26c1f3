"""Many closed-won deals at once, written straight into the simulators' SQLite file (reconciliation at scale).

Template deals made through HubSpot's batch API (simulators/hubspot/drive.py) are cloned in the caller's
transaction: each clone has its own id, line items and company link (both ways, as the simulator keeps them),
and is won a second after the one before, so HubSpot's search windows can page past 10,000. The id counters
move past the clones so the simulator's next create cannot collide.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from simulators.hubspot.schema import SYSTEM, iso


@dataclass(frozen=True)
class SeededDeal:
    """What the other systems' seeds need of a deal: its ids, currency and lines (sku, quantity, unit price)."""

    deal_id: str
    company_id: str | None
    currency: str
    lines: tuple[tuple[str, Decimal, Decimal], ...]
    won_at: float


def load(conn: sqlite3.Connection, kind: str, record_id: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT data FROM records WHERE system=? AND kind=? AND id=?", (SYSTEM, kind, record_id)
    ).fetchone()
    if row is None:
        raise LookupError(f"no {SYSTEM} {kind} {record_id!r} in the simulators' store: is it the simulators' file?")
    record: dict[str, Any] = json.loads(row[0])
    return record


def reserve(conn: sqlite3.Connection, name: str, n: int, start: int) -> int:
    """The first of n ids under counter `name`, the simulator's counter (simulators.store.next_id) moved past."""
    row = conn.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()
    first = (int(row[0]) if row else start - 1) + 1
    conn.execute(
        "INSERT INTO counters VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        (name, first + n - 1),
    )
    return first


def described(deal: dict[str, Any], lines: list[dict[str, Any]], won_at: float) -> SeededDeal:
    p = deal["properties"]
    companies = deal.get("associations", {}).get("companies", [])
    return SeededDeal(
        deal_id=str(deal["id"]),
        company_id=str(companies[0]) if companies else None,
        currency=str(p.get("deal_currency_code") or "USD").upper(),
        lines=tuple(
            (
                str(x["properties"].get("hs_sku")),
                Decimal(x["properties"]["quantity"]),
                Decimal(x["properties"]["price"]),
            )
            for x in lines
        ),
        won_at=won_at,
    )


def bulk_seed(conn: sqlite3.Connection, templates: list[str], n: int) -> list[SeededDeal]:
    """n clones of the template deals (in turn), in the caller's transaction."""
    deals = [load(conn, "deals", d) for d in templates]
    lines = {d["id"]: [load(conn, "line_items", i) for i in d["associations"]["line_items"]] for d in deals}
    per_deal = max(len(v) for v in lines.values())
    next_deal = reserve(conn, f"{SYSTEM}:deals", n, 10000)
    next_line = reserve(conn, f"{SYSTEM}:line_items", n * per_deal, 50000)
    now = time.time()
    rows: list[tuple[str, str, str, str, float]] = []
    company_deals: dict[str, list[str]] = defaultdict(list)
    made: list[SeededDeal] = []
    shapes: dict[str, SeededDeal] = {}
    for k in range(n):
        template = deals[k % len(deals)]
        deal_id = str(next_deal + k)
        line_ids: list[str] = []
        copies: list[dict[str, Any]] = []
        for j, line in enumerate(lines[template["id"]]):
            line_id = str(next_line + k * per_deal + j)
            line_ids.append(line_id)
            copy = {**line, "id": line_id, "properties": {**line["properties"], "hs_object_id": line_id}}
            copy["associations"] = {**line.get("associations", {}), "deals": [deal_id]}
            copies.append(copy)
            rows.append((SYSTEM, "line_items", line_id, json.dumps(copy), now))
        won_at = now - (n - k)  # a second apart, over the past n seconds
        stamp = iso(datetime.fromtimestamp(won_at, UTC))
        won = {"closedate": stamp, "hs_date_entered_closedwon": stamp}
        deal = {
            **template,
            "id": deal_id,
            "properties": {**template["properties"], **won, "hs_object_id": deal_id, "dealname": f"seeded {deal_id}"},
            "associations": {**template["associations"], "line_items": line_ids},
            "createdAt": stamp,
            "updatedAt": stamp,
        }
        for company in template["associations"].get("companies", []):
            company_deals[company].append(deal_id)
        rows.append((SYSTEM, "deals", deal_id, json.dumps(deal), now))
        if len(rows) >= 20_000:  # bounded memory however many deals
            conn.executemany("INSERT INTO records VALUES (?,?,?,?,?)", rows)
            rows.clear()
        shape = shapes.setdefault(template["id"], described(deal, copies, won_at))  # lines shared, not copied
        made.append(SeededDeal(deal_id, shape.company_id, shape.currency, shape.lines, won_at))
    conn.executemany("INSERT INTO records VALUES (?,?,?,?,?)", rows)
    for company_id, ids in company_deals.items():
        company = load(conn, "companies", company_id)
        company.setdefault("associations", {}).setdefault("deals", []).extend(ids)
        conn.execute(
            "UPDATE records SET data=? WHERE system=? AND kind=? AND id=?",
            (json.dumps(company), SYSTEM, "companies", company_id),
        )
    return made


def seeded_templates(conn: sqlite3.Connection, templates: list[str]) -> list[SeededDeal]:
    """The template deals themselves, described as the clones are."""
    found: list[SeededDeal] = []
    for deal_id in templates:
        deal = load(conn, "deals", deal_id)
        lines = [load(conn, "line_items", i) for i in deal["associations"].get("line_items", [])]
        found.append(described(deal, lines, time.time()))
    return found
