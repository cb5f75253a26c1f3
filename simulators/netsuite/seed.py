"""Many sagas' sales orders at once, written straight into the simulators' SQLite file (reconciliation at scale).

Each order is what a saga's `create_order` step leaves: external id `<saga id>:create_order`, pending
fulfillment, its lines at the deal's prices on the catalog's items, for the customer keyed by the CRM's
company id (made here when the ERP does not have it yet, as the saga's upsert would).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from simulators.netsuite.currencies import reference
from simulators.netsuite.errors import SYSTEM
from simulators.netsuite.rules import ORDER_STATUS

SUBSIDIARY = {"USD": "1", "EUR": "2", "GBP": "3"}


@dataclass(frozen=True)
class OrderSeed:
    saga_id: str
    customer_key: str  # the CRM's company id: the ERP customer's external id
    currency: str
    lines: tuple[tuple[str, Decimal, Decimal], ...]  # sku, quantity, unit price
    order_date: date


def _reserve(conn: sqlite3.Connection, kind: str, n: int, start: int) -> int:
    name = f"{SYSTEM}:{kind}"
    row = conn.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()
    first = (int(row[0]) if row else start - 1) + 1
    conn.execute(
        "INSERT INTO counters VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        (name, first + n - 1),
    )
    return first


def _by_external_id(conn: sqlite3.Connection, kind: str) -> dict[str, dict[str, Any]]:
    rows = conn.execute("SELECT data FROM records WHERE system=? AND kind=?", (SYSTEM, kind)).fetchall()
    found: dict[str, dict[str, Any]] = {}
    for (data,) in rows:
        record = json.loads(data)
        if record.get("externalId"):
            found[str(record["externalId"])] = record
    return found


def _customer(conn: sqlite3.Connection, key: str, currency: str, now: float) -> dict[str, Any]:
    ns_id = str(_reserve(conn, "customer", 1, 100))
    record = {
        "id": ns_id,
        "externalId": key,
        "entityId": f"CUST{ns_id}",
        "companyName": f"Seeded customer {key}",
        "currency": reference(currency),
        "subsidiary": {"id": SUBSIDIARY.get(currency, "1")},
        "defaultTaxReg": "GB123456789" if currency != "USD" else None,
        "overdueBalance": 0.0,
        "unbilledOrders": 0.0,
        "balance": 0.0,
        "isInactive": False,
    }
    conn.execute("INSERT INTO records VALUES (?,?,?,?,?)", (SYSTEM, "customer", ns_id, json.dumps(record), now))
    return record


def bulk_seed(conn: sqlite3.Connection, orders: Iterable[OrderSeed], count: int) -> int:
    """`count` sales orders from `orders`, in the caller's transaction; returns how many were written."""
    items = _by_external_id(conn, "nonInventorySaleItem")
    customers = _by_external_id(conn, "customer")
    next_order = _reserve(conn, "salesOrder", count, 1000)
    now, written = time.time(), 0
    rows: list[tuple[str, str, str, str, float]] = []
    for order in orders:
        customer = customers.get(order.customer_key)
        if customer is None:
            customer = customers[order.customer_key] = _customer(conn, order.customer_key, order.currency, now)
        lines, total = [], Decimal(0)
        for sku, quantity, rate in order.lines:
            item = items.get(sku)
            if item is None:
                raise LookupError(f"no NetSuite item for SKU {sku!r}: seed the catalog (simulators.seed) first")
            amount = (quantity * rate).quantize(Decimal("0.01"))
            total += amount
            line = {"quantity": str(quantity), "rate": str(rate), "amount": str(amount), "description": None}
            lines.append({"item": {"id": item["id"], "refName": item["itemId"]}, **line})
        order_id = str(next_order + written)
        record = {
            "id": order_id,
            "tranId": f"SO{order_id}",
            "externalId": f"{order.saga_id}:create_order",
            "entity": {"id": customer["id"], "refName": customer["companyName"]},
            "tranDate": order.order_date.isoformat(),
            "currency": reference(order.currency),
            "item": {"items": lines},
            "total": str(total),
            "memo": None,
            "orderStatus": {"id": "B", "refName": ORDER_STATUS["B"]},
        }
        rows.append((SYSTEM, "salesOrder", order_id, json.dumps(record), now))
        written += 1
        if len(rows) >= 10_000:  # bounded memory however many orders
            conn.executemany("INSERT INTO records VALUES (?,?,?,?,?)", rows)
            rows.clear()
    conn.executemany("INSERT INTO records VALUES (?,?,?,?,?)", rows)
    return written
