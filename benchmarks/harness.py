"""The benchmarks' and the chaos suite's rig (a dev server and the simulators, each its own process) and deals.

Processes and the dev server come from `devstack.rig`, shared with `q2c dev` and `q2c demo`.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from devstack.rig import Process, connect_when_up, dev_server, spawn, vendor_env, wait_port
from simulators.server import free_port

__all__ = ["Process", "Rig", "cpu_seconds", "make_deals", "records", "rig", "rss_mb", "spawn", "wait_port"]

HS = {"Authorization": "Bearer pat-na1-q2c-dev"}
FULL = ["PLAT-PRO", "IMPL-STD", "PLAT-TEAM"]


def cpu_seconds(pid: int) -> float:
    """user + system CPU of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int | None = None) -> float:
    for line in Path(f"/proc/{pid or os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Rig:
    """A dev server on a SQLite file and the simulators, each in its own process."""

    server: Process
    simulators: Process
    temporal_port: int
    sim_port: int
    home: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    async def client(self) -> Client:
        return await connect_when_up(self.address, lambda: self.server.alive)

    def vendor_env(self) -> dict[str, str]:
        """Environment pointing q2c's connectors (and a worker process) at this rig."""
        return vendor_env(self.address, self.sim_url)


@contextmanager
def rig(netsuite_concurrency: int = 1000, durable: bool = True, **sim_env: str) -> Iterator[Rig]:
    home = Path(tempfile.mkdtemp(prefix="q2c-rig-"))
    temporal_port, sim_port = free_port(), free_port()
    server = dev_server(temporal_port, db=home / "temporal.db" if durable else None)
    simulators = spawn(
        [sys.executable, "-m", "cli.app", "simulators", "--port", str(sim_port)],
        Q2C_SIM_NETSUITE_CONCURRENCY=str(netsuite_concurrency),
        Q2C_SIM_WEBHOOK_BACKOFF_S="0.2",
        **sim_env,
    )
    try:
        wait_port(temporal_port)
        wait_port(sim_port)
        yield Rig(server, simulators, temporal_port, sim_port, home)
    finally:
        simulators.stop()
        server.stop()


def make_deals(
    sim_url: str, count: int, skus: list[str] = FULL, company: str | None = None, stage: str = "closedwon"
) -> list[str]:
    """Create closed-won deals through HubSpot's batch API, 100 at a time, as a CRM import would."""
    with httpx.Client(base_url=f"{sim_url}/hubspot", headers=HS, timeout=60) as hs:
        companies = [c for c in _all(hs, "companies") if c["properties"].get("currency") == "USD"]
        targets = [company] if company else [c["id"] for c in companies[3:]]
        prices = {"PLAT-PRO": "18000", "IMPL-STD": "15000", "PLAT-TEAM": "990", "PLAT-ENT": "48000"}
        frequency = {"PLAT-PRO": "annually", "PLAT-TEAM": "monthly", "PLAT-ENT": "annually"}
        deal_ids: list[str] = []
        for start in range(0, count, 100):
            size = min(100, count - start)
            inputs = []
            for _ in range(size):
                for sku in skus:
                    props = {"name": sku, "quantity": "1", "price": prices[sku], "hs_sku": sku}
                    if sku in frequency:
                        props |= {
                            "recurringbillingfrequency": frequency[sku],
                            "hs_recurring_billing_start_date": "2026-12-01",
                        }
                    inputs.append({"properties": props})
            lines = hs.post("/crm/v3/objects/line_items/batch/create", json={"inputs": inputs}).json()["results"]
            deals = []
            for index in range(size):
                own = lines[index * len(skus) : (index + 1) * len(skus)]
                links = [
                    {
                        "to": {"id": targets[(start + index) % len(targets)]},
                        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 5}],
                    }
                ]
                links += [
                    {
                        "to": {"id": line["id"]},
                        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 19}],
                    }
                    for line in own
                ]
                amount = sum(int(prices[s]) for s in skus)
                deals.append(
                    {
                        "properties": {
                            "dealname": f"bench {start + index}",
                            "dealstage": stage,
                            "amount": str(amount),
                            "deal_currency_code": "USD",
                        },
                        "associations": links,
                    }
                )
            created = hs.post("/crm/v3/objects/deals/batch/create", json={"inputs": deals}).json()["results"]
            deal_ids += [d["id"] for d in created]
        return deal_ids


def _all(hs: httpx.Client, kind: str) -> list[dict[str, Any]]:
    found, after = [], None
    while True:
        page = hs.get(
            f"/crm/v3/objects/{kind}",
            params={"limit": 100, **({"after": after} if after else {}), "properties": "currency,name"},
        ).json()
        found += page["results"]
        after = page.get("paging", {}).get("next", {}).get("after")
        if not after:
            return found


def records(sim_url: str, system: str, kind: str) -> list[dict[str, Any]]:
    return list(httpx.get(f"{sim_url}/_sim/{system}/records/{kind}", timeout=60).json()["records"])
