"""Check sagas' outcomes against the vendors' own records: one of everything, nothing left behind.

`audit_sagas` reads canonical records through the ports and applies the rules reconciliation uses
(models/postconditions.py); `audit_at` is the same for synchronous callers.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from activities.reconcile import saga_records
from connectors.errors import NotFound
from connectors.registry import Adapters, Roles, open_adapters
from models import postconditions
from models.saga import Stage


async def audit_sagas(ports: Adapters, expected: dict[str, Stage]) -> dict[str, list[str]]:
    """Problems per deal id (empty lists when all is well); `*`, for problems of no one deal, is empty."""
    problems: dict[str, list[str]] = {"*": []}
    for deal_id, stage in expected.items():
        try:
            records = await saga_records(*ports, deal_id)
        except NotFound:
            problems[deal_id] = ["no such deal"]
            continue
        problems[deal_id] = postconditions.problems(records, stage)
    return problems


def audit_at(simulators: str, expected: dict[str, Stage], roles: Roles | None = None) -> dict[str, list[str]]:
    """`audit_sagas` with the configured adapters aimed at a simulator base URL, for synchronous callers
    (it runs in a thread of its own, so it works from inside an event loop too)."""

    async def run() -> dict[str, list[str]]:
        async with open_adapters(roles, simulators=simulators, timeout_s=30.0) as ports:
            return await audit_sagas(ports, expected)

    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, run()).result()
