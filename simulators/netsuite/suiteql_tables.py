"""The tables the simulator's SuiteQL reads: their columns as NetSuite names them, and the rows behind them.

A reference column answers the referenced record's internal id, as NetSuite's does: `transaction.currency`
is the currency's id ("1"), never its ISO code; the code is `currency.symbol`
(https://timdietrich.me/blog/netsuite-suiteql-currency-exchange-rates). Rows named by external id (an IN
list, `=` or a `LIKE 'prefix%'`) are read through an index on the external id, so a page's orders cost one
index lookup per saga instead of a scan of every transaction. A custom field is a column named by its
lower-case script id (`item.custitem_q2c_service_tier`); like every column, it is left out of a row when null.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from simulators.netsuite.currencies import CURRENCIES
from simulators.netsuite.errors import SYSTEM
from simulators.store import Store

Record = dict[str, Any]
Range = tuple[str, str]  # inclusive external id bounds
TRAN_TYPES = {"salesOrder": "SalesOrd", "invoice": "CustInvc", "creditMemo": "CustCred"}
_INDEX = (
    "CREATE INDEX IF NOT EXISTS records_netsuite_external_id "
    "ON records (system, kind, json_extract(data, '$.externalId'))"
)


def _ref(field: str) -> Callable[[Record], Any]:
    return lambda r: (r.get(field) or {}).get("id")


def _plain(field: str) -> Callable[[Record], Any]:
    return lambda r: r.get(field)


def _custom(field: str) -> Callable[[Record], Any]:
    """A custom field's column, named by its lower-case script id; an empty value is NetSuite's null."""
    return lambda r: r.get(field) if r.get(field) not in ("", None) else None


def _flag(field: str) -> Callable[[Record], Any]:
    return lambda r: "T" if r.get(field) else "F"


_COMMON = {"id": _plain("id"), "externalid": _plain("externalId"), "lastmodifieddate": _plain("lastModifiedDate")}
COLUMNS: dict[str, dict[str, Callable[[Record], Any]]] = {
    "customer": _COMMON
    | {
        "entityid": _plain("entityId"),
        "companyname": _plain("companyName"),
        "email": _plain("email"),
        "isinactive": _flag("isInactive"),
        "subsidiary": _ref("subsidiary"),
        "currency": _ref("currency"),
        "creditlimit": _plain("creditLimit"),
    },
    "transaction": _COMMON
    | {
        "tranid": _plain("tranId"),
        "type": _plain("type"),
        "trandate": _plain("tranDate"),
        "entity": _ref("entity"),
        "currency": _ref("currency"),
        "status": lambda r: (r.get("orderStatus") or r.get("status") or {}).get("id"),
        "foreigntotal": _plain("total"),
        "foreignamountremaining": _plain("amountRemaining"),
        "memo": _plain("memo"),
        "createdfrom": _ref("createdFrom"),
    },
    "item": _COMMON
    | {
        "itemid": _plain("itemId"),
        "displayname": _plain("displayName"),
        "isinactive": _flag("isInactive"),
        "itemtype": lambda r: "NonInvtPart",
        "custitem_q2c_service_tier": _custom("custitem_q2c_service_tier"),
    },
    "currency": {
        "id": _plain("id"),
        "name": _plain("name"),
        "symbol": _plain("symbol"),
        "displaysymbol": _plain("displaysymbol"),
        "isbasecurrency": _plain("isbasecurrency"),
        "isinactive": lambda r: "F",
    },
}
KINDS = {"customer": ["customer"], "item": ["nonInventorySaleItem"], "transaction": list(TRAN_TYPES)}


def rows(store: Store, table: str, ranges: list[Range] | None) -> list[Record]:
    """The table's records (transactions tagged with their type), only those in `ranges` when given, by id."""
    if table == "currency":
        return [
            {"id": i, "name": n, "symbol": s, "displaysymbol": d, "isbasecurrency": "T" if i == "1" else "F"}
            for i, n, s, d in CURRENCIES
        ]
    found = [
        {**record, "type": TRAN_TYPES[kind]} if table == "transaction" else record
        for kind in KINDS[table]
        for record in (_all(store, kind) if ranges is None else _in_ranges(store, kind, ranges))
    ]
    return sorted(found, key=lambda r: int(r["id"]) if str(r["id"]).isdigit() else 0)


def _all(store: Store, kind: str) -> Iterable[Record]:
    return store.all(SYSTEM, kind)


def _in_ranges(store: Store, kind: str, ranges: list[Range]) -> Iterable[Record]:
    store._run(_INDEX)  # once per database in effect: IF NOT EXISTS
    seen: set[str] = set()
    sql = (
        "SELECT id, data FROM records WHERE system = ? AND kind = ? "
        "AND json_extract(data, '$.externalId') BETWEEN ? AND ?"
    )
    for low, high in ranges:
        for record_id, data in store._run(sql, SYSTEM, kind, low, high):
            if record_id not in seen:
                seen.add(record_id)
                yield json.loads(data)
