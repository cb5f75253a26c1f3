"""The search's memory of what it already matched, so paging 100,000 seeded deals by id does not rescan them.

A keyset page (`hs_object_id GT <last id>` in every filter group, sorted by `hs_object_id`) asks the same
question each time with a higher id. The ids matching the rest of the query are kept, sorted, and each page is
a bisection of them. Kept answers are dropped whenever any HubSpot record changes: a trigger on the store's
table counts every write (the simulator's own, the seed's from another connection) and an answer remembers
the count it was made at.
"""

from __future__ import annotations

import bisect
import json
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from simulators.store import Store

from .schema import SYSTEM

Record = dict[str, Any]
KEYSET = "hs_object_id"
KEPT = 32  # answers kept at once: a few reconciliation windows and the odd other query
_VERSION = f"{SYSTEM}:records_version"
_TRIGGERS = [
    f"""CREATE TRIGGER IF NOT EXISTS {SYSTEM}_records_{event.lower()} AFTER {event} ON records
    WHEN {row}.system = '{SYSTEM}'
    BEGIN INSERT INTO counters VALUES ('{_VERSION}', 1)
    ON CONFLICT(name) DO UPDATE SET value = value + 1; END"""
    for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))
]


class MatchIndex:
    def __init__(self, store: Store) -> None:
        self.store = store
        for trigger in _TRIGGERS:
            store._run(trigger)
        self._answers: OrderedDict[str, tuple[int, list[int]]] = OrderedDict()

    def version(self) -> int:
        rows = self.store._run("SELECT value FROM counters WHERE name = ?", _VERSION)
        return int(rows[0][0]) if rows else 0

    def kept(self, key: str) -> list[int] | None:
        """The sorted ids matching `key`'s query, if nothing changed since they were found."""
        found = self._answers.get(key)
        if found is None or found[0] != self.version():
            return None
        self._answers.move_to_end(key)
        return found[1]

    def keep(self, key: str, ids: list[int], version: int) -> None:
        self._answers[key] = (version, sorted(ids))
        while len(self._answers) > KEPT:
            self._answers.popitem(last=False)


def live_records(store: Store, object_type: str, chunk: int = 5_000) -> Iterator[Record]:
    """Every unarchived record of a type, a chunk of rows at a time (memory bounded however many there are)."""
    last = 0
    while True:
        rows = store._run(
            "SELECT rowid, data FROM records WHERE system = ? AND kind = ? AND rowid > ? ORDER BY rowid LIMIT ?",
            SYSTEM,
            object_type,
            last,
            chunk,
        )
        for rowid, data in rows:
            last = rowid
            record = json.loads(data)
            if not record.get("archived"):
                yield record
        if len(rows) < chunk:
            return


def keyset(object_type: str, body: Record) -> tuple[str, int, bool] | None:
    """(the query without its keyset bound, the bound, whether it is inclusive) when the search pages by id:
    every group has the same one `hs_object_id` GT/GTE filter (or none has one: the first page) and the only
    sort is `hs_object_id` ascending."""
    groups = body.get("filterGroups") or []
    sorts = body.get("sorts") or []
    if not groups or sorts not in ([{"propertyName": KEYSET, "direction": "ASCENDING"}], [KEYSET]):
        return None
    bounds: set[tuple[str, str]] = set()
    rest: list[list[Record]] = []
    for group in groups:
        filters = group.get("filters") or []
        mine = [f for f in filters if f.get("propertyName") == KEYSET]
        if len(mine) > 1 or (mine and mine[0].get("operator") not in ("GT", "GTE")):
            return None
        bounds.add((str(mine[0]["operator"]), str(mine[0].get("value"))) if mine else ("GTE", "0"))
        rest.append([f for f in filters if f.get("propertyName") != KEYSET])
    if len(bounds) != 1:  # the first page (no bound in any group) asks the same question from id 0
        return None
    operator, value = bounds.pop()
    if not value.isdigit():
        return None
    key = json.dumps([object_type, rest, body.get("query") or ""], sort_keys=True)
    return key, int(value), operator == "GTE"


def after(ids: list[int], bound: int, inclusive: bool) -> list[int]:
    """The sorted ids past the bound."""
    start = bisect.bisect_left(ids, bound) if inclusive else bisect.bisect_right(ids, bound)
    return ids[start:]
