"""The benchmarks' and the chaos suite's rig (a dev server and the simulators, each its own process) and deals.

Processes and the dev server come from `devstack.rig`, shared with `q2c dev` and `q2c demo`; deals are made in
the CRM simulator by its driver (simulators/<crm>/drive.py).
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

from devstack.rig import Process, connect_when_up, dev_server, serve_on_free_port, spawn, vendor_env
from simulators.hubspot.drive import make_deals  # deals as a CRM import makes them, in the CRM's simulator

__all__ = ["Process", "Rig", "arrivals", "cpu_seconds", "make_deals", "records", "rig", "rss_mb", "spawn"]
# Temporal's batcher (the bulk signal that releases parked sagas) defaults to 50 operations a second per
# namespace; raised so that the release is limited by the saga and the engine, not by that default.
BATCHER_RPS = 2000


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

    async def client(self, **options: Any) -> Client:
        return await connect_when_up(self.address, lambda: self.server.alive, **options)

    def vendor_env(self) -> dict[str, str]:
        """Environment pointing q2c's connectors (and a worker process) at this rig."""
        return vendor_env(self.address, self.sim_url)


@contextmanager
def rig(netsuite_concurrency: int = 1000, durable: bool = True, counted: bool = False, **sim_env: str) -> Iterator[Rig]:
    """`counted`: the simulators keep each request's arrival time (benchmarks/counted_simulators.py)."""
    home = Path(tempfile.mkdtemp(prefix="q2c-rig-"))
    command = ["benchmarks.counted_simulators"] if counted else ["cli.app", "simulators"]
    env = {
        "Q2C_SIM_NETSUITE_CONCURRENCY": str(netsuite_concurrency),
        "Q2C_SIM_WEBHOOK_BACKOFF_S": "0.2",
        **sim_env,
    }
    # The simulators first: once they hold their port, the dev server cannot pick it for one of its own.
    simulators, sim_port = serve_on_free_port(
        lambda port: spawn([sys.executable, "-m", *command, "--port", str(port)], env, home / "simulators.log")
    )
    try:
        server, temporal_port = serve_on_free_port(
            lambda port: dev_server(
                port,
                db=home / "temporal.db" if durable else None,
                dynamic_config={"worker.batcherRPS": BATCHER_RPS},
                log=home / "temporal.log",
            )
        )
    except BaseException:
        simulators.stop()
        raise
    try:
        yield Rig(server, simulators, temporal_port, sim_port, home)
    finally:
        simulators.stop()
        server.stop()


def records(sim_url: str, system: str, kind: str) -> list[dict[str, Any]]:
    return list(httpx.get(f"{sim_url}/_sim/{system}/records/{kind}", timeout=60).json()["records"])


def arrivals(sim_url: str, system: str) -> list[float]:
    """When each request to `system` arrived (Unix times), from a rig started with `counted=True`."""
    return [float(t) for t in httpx.get(f"{sim_url}/_bench/arrivals/{system}", timeout=60).json()]
