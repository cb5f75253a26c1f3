"""Many closed-won deals in the HubSpot simulator at once, for reconciliation at scale.

A few deals are made through HubSpot's batch API (as a CRM import makes them: simulators/hubspot/drive.py), then
cloned straight into the simulators' SQLite file in one transaction: 100,000 deals take seconds, not the hour the
API would. Each clone has its own id, line items and company link (both ways, as the simulator keeps them);
the id counters move past the clones so the simulator's next create cannot collide.

Usage (the simulators on a SQLite file, e.g. `Q2C_SIM_DB=/tmp/sim.db q2c simulators`):
    python -m benchmarks.seed --sim-url http://127.0.0.1:8100 --db /tmp/sim.db --deals 100000
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simulators.hubspot.drive import make_deals
from simulators.hubspot.schema import iso

SYSTEM = "hubspot"
TEMPLATES = 10  # deals made through the API, spread over the USD companies, then cloned


def seed_closed_won(sim_url: str, db: Path, count: int) -> list[str]:
    """`count` closed-won deals (the first TEMPLATES through the API); returns their ids."""
    if count < 1:
        raise ValueError(f"--deals must be at least 1, not {count}")
    templates = make_deals(sim_url, min(count, TEMPLATES))
    if count <= len(templates):
        return templates
    with sqlite3.connect(db, timeout=60, isolation_level=None) as conn:
        conn.execute("BEGIN IMMEDIATE")  # the simulator waits (its writes are short); nothing is half seeded
        try:
            made = _clone(conn, templates, count - len(templates))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return templates + made


def _load(conn: sqlite3.Connection, kind: str, record_id: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT data FROM records WHERE system=? AND kind=? AND id=?", (SYSTEM, kind, record_id)
    ).fetchone()
    if row is None:
        raise LookupError(f"no {SYSTEM} {kind} {record_id!r} in the simulators' store: is --db the simulators' file?")
    record: dict[str, Any] = json.loads(row[0])
    return record


def _reserve(conn: sqlite3.Connection, kind: str, n: int, start: int) -> int:
    """The first of n ids for `kind`, the simulator's counter (simulators.store.next_id) moved past them."""
    name = f"{SYSTEM}:{kind}"
    row = conn.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()
    first = (int(row[0]) if row else start - 1) + 1
    conn.execute(
        "INSERT INTO counters VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        (name, first + n - 1),
    )
    return first


def _clone(conn: sqlite3.Connection, templates: list[str], n: int) -> list[str]:
    deals = [_load(conn, "deals", d) for d in templates]
    lines = {d["id"]: [_load(conn, "line_items", i) for i in d["associations"]["line_items"]] for d in deals}
    per_deal = max(len(v) for v in lines.values())
    next_deal, next_line = _reserve(conn, "deals", n, 10000), _reserve(conn, "line_items", n * per_deal, 50000)
    now = time.time()
    rows: list[tuple[str, str, str, str, float]] = []
    company_deals: dict[str, list[str]] = defaultdict(list)
    made: list[str] = []
    for k in range(n):
        template = deals[k % len(deals)]
        deal_id = str(next_deal + k)
        line_ids: list[str] = []
        for j, line in enumerate(lines[template["id"]]):
            line_id = str(next_line + k * per_deal + j)
            line_ids.append(line_id)
            copy = {**line, "id": line_id, "properties": {**line["properties"], "hs_object_id": line_id}}
            copy["associations"] = {**line.get("associations", {}), "deals": [deal_id]}
            rows.append((SYSTEM, "line_items", line_id, json.dumps(copy), now))
        # won a second apart, over the past n seconds: HubSpot's search pages past 10,000 by windows of these
        stamp = iso(datetime.fromtimestamp(now - (n - k), UTC))
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
        made.append(deal_id)
    conn.executemany("INSERT INTO records VALUES (?,?,?,?,?)", rows)
    for company_id, ids in company_deals.items():
        company = _load(conn, "companies", company_id)
        company.setdefault("associations", {}).setdefault("deals", []).extend(ids)
        conn.execute(
            "UPDATE records SET data=? WHERE system=? AND kind=? AND id=?",
            (json.dumps(company), SYSTEM, "companies", company_id),
        )
    return made


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sim-url", required=True)
    parser.add_argument("--db", type=Path, required=True, help="the simulators' SQLite file (Q2C_SIM_DB)")
    parser.add_argument("--deals", type=int, default=100_000)
    args = parser.parse_args()
    began = time.perf_counter()
    ids = seed_closed_won(args.sim_url, args.db, args.deals)
    print(f"{len(ids)} closed-won deals in {time.perf_counter() - began:.1f} s ({ids[0]}..{ids[-1]})")
