"""Check sagas' outcomes against the vendors' own records: one of everything, nothing left behind.

`audit_sagas` reads canonical records through the ports and applies the rules reconciliation uses
(models/postconditions.py); `audit_at` is the same for synchronous callers. `audit` is the older reading of
the simulators' raw records, kept only until devstack/checks.py moves to `audit_at`.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from activities.reconcile import saga_records
from connectors.errors import NotFound
from connectors.registry import Adapters, open_adapters
from models import postconditions
from models.saga import Stage, saga_id

Records = Callable[[str, str], list[dict[str, Any]]]  # (system, kind) -> every record of that kind
UNDONE = (Stage.COMPENSATED, Stage.CANCELLED)


async def audit_sagas(ports: Adapters, expected: dict[str, Stage]) -> dict[str, list[str]]:
    """Problems per deal id (empty lists when all is well); `*` kept empty for callers of `audit`."""
    problems: dict[str, list[str]] = {"*": []}
    for deal_id, stage in expected.items():
        try:
            records = await saga_records(*ports, deal_id)
        except NotFound:
            problems[deal_id] = ["no such deal"]
            continue
        problems[deal_id] = postconditions.problems(records, stage)
    return problems


def audit_at(simulators: str, expected: dict[str, Stage]) -> dict[str, list[str]]:
    """`audit_sagas` with the configured adapters aimed at a simulator base URL, for synchronous callers
    (it runs in a thread of its own, so it works from inside an event loop too)."""

    async def run() -> dict[str, list[str]]:
        async with open_adapters(simulators=simulators, timeout_s=30.0) as ports:
            return await audit_sagas(ports, expected)

    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, run()).result()


def audit(records: Records, expected: dict[str, Stage]) -> dict[str, list[str]]:
    """Problems per deal id (empty lists when all is well), plus duplicates under the key `*`."""
    orders = _by(records("netsuite", "salesOrder"), lambda r: r.get("externalId"))
    invoices = _by(records("netsuite", "invoice"), lambda r: r.get("externalId"))
    memos = _by(records("netsuite", "creditMemo"), lambda r: r.get("externalId"))
    subscriptions = _by(records("stripe", "subscription"), lambda r: r["metadata"].get("q2c_workflow_id"))
    billing_invoices = {r["id"]: r for r in records("stripe", "invoice")}
    organizations = _by(records("zendesk", "organization"), lambda r: r.get("external_id"))
    deals = {r["id"]: r for r in records("hubspot", "deals")}
    problems: dict[str, list[str]] = {}
    for deal_id, stage in expected.items():
        found: list[str] = []
        w = saga_id("hubspot", deal_id)
        deal = deals.get(deal_id)
        if deal is None:
            problems[deal_id] = ["no such deal"]
            continue
        if deal["properties"].get("q2c_status") != stage.value:
            found.append(f"deal q2c_status is {deal['properties'].get('q2c_status')}, expected {stage.value}")
        order, invoice = orders.get(f"{w}:create_order", []), invoices.get(f"{w}:invoice_erp", [])
        subs = subscriptions.get(w, [])
        company = deal["associations"]["companies"][0]
        org = organizations.get(company, [])
        if len(order) > 1 or len(invoice) > 1 or len(org) > 1:
            found.append(f"duplicates: {len(order)} orders, {len(invoice)} ERP invoices, {len(org)} organizations")
        if len({s["items"]["data"][0]["price"]["recurring"]["interval"] for s in subs}) != len(subs):
            found.append(f"duplicate subscriptions: {len(subs)}")
        if stage is Stage.COMPLETED:
            if len(order) != 1 or not subs:
                found.append(f"{len(order)} orders and {len(subs)} subscriptions for a completed saga")
            found += [f"subscription {s['id']} is {s['status']}" for s in subs if s["status"] != "active"]
            if not org or org[0]["organization_fields"].get("entitlement_status") != "active":
                found.append("no active entitlement")
        elif stage in UNDONE:
            found += [
                f"order {o['id']} left {o['orderStatus']['refName']}"
                for o in order
                if o["orderStatus"]["refName"] not in ("Cancelled", "Closed")
            ]
            found += [f"ERP invoice {i['id']} left open" for i in invoice if i["amountRemaining"] != "0.00"]
            if invoice and not memos.get(f"{w}:credit_erp_invoice"):
                found.append("an ERP invoice without its credit memo")
            found += [f"subscription {s['id']} left {s['status']}" for s in subs if s["status"] != "canceled"]
            for s in subs:
                left = billing_invoices.get(s["latest_invoice"])
                if left and left["status"] not in ("void",) and not left.get("deleted"):
                    found.append(f"billing invoice {left['id']} left {left['status']}")
        elif order:
            found.append("an order exists for a saga that stopped before ordering")
        problems[deal_id] = found
    customers = Counter(
        r["metadata"].get("q2c_customer_id")
        for r in records("stripe", "customer")
        if r.get("metadata", {}).get("q2c_customer_id")
    )
    problems["*"] = [f"{n} billing customers for customer {c}" for c, n in customers.items() if n > 1]
    return problems


def _by(rows: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any]) -> dict[Any, list[dict[str, Any]]]:
    grouped: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[key(row)].append(row)
    return grouped
