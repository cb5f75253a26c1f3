"""The embedded stack: Temporal's dev server (with its UI), the simulators, the ingress and a worker."""

from __future__ import annotations

import shutil
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import TracebackType

from starlette.applications import Starlette
from temporalio.client import Client

from client.operations import apply_schedule
from connectors.hubspot import webhooks as hubspot_webhooks
from connectors.roles import Roles
from connectors.stripe import webhooks as stripe_webhooks
from devstack.rig import Ports, Process, Webhooks, connect_when_up, dev_server, simulated_worker, simulators_config
from infra.codec import EncryptionCodec, KeyRing
from infra.settings import Q2CSettings
from infra.telemetry import configure_tracing, metrics_runtime
from infra.temporal import connect
from models.reconcile import ReconcileInput
from models.saga import TASK_QUEUE
from simulators.app import create_app
from simulators.server import BackgroundServer
from simulators.store import Store
from workers.codec_server import create_codec_server
from workers.ingress import create_ingress

__all__ = ["Ports", "Stack", "reconcile_on_schedule"]

RECONCILE_EVERY = timedelta(minutes=1)  # a lost webhook becomes a saga within this, with nobody involved
RECONCILE_WINDOW_DAYS = 2


async def reconcile_on_schedule(
    client: Client, task_queue: str, every: timedelta = RECONCILE_EVERY, window_days: int = RECONCILE_WINDOW_DAYS
) -> str:
    """Reconciliation as a Temporal Schedule that repairs what it can: closed-won deals without a saga get one."""
    job = ReconcileInput(window_days=window_days, repair=True, task_queue=task_queue)
    return await apply_schedule(client, every, job, task_queue)


@dataclass
class Stack:
    """Everything q2c needs on one machine; `async with Stack(...)` starts it and stops it cleanly.

    The simulators run in this process, so the demo can read their records (`store`) directly.
    """

    home: Path
    ports: Ports = field(default_factory=Ports)
    fresh: bool = False
    settings: Q2CSettings = field(default_factory=Q2CSettings)
    ring: KeyRing | None = None
    codec_token: str | None = None
    traces: str | None = None
    roles: Roles = field(default_factory=Roles)  # the CRMs served (`Q2C_CRMS`) and each role's vendor
    reconcile_every: timedelta | None = RECONCILE_EVERY  # None: no reconciliation schedule
    client: Client | None = None
    simulators: BackgroundServer | None = None
    sim_app: Starlette | None = None
    _exit: AsyncExitStack = field(default_factory=AsyncExitStack)
    _server: Process | None = None

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

    @property
    def store(self) -> Store:
        """The simulators' records: what the vendors hold, to check outcomes against."""
        assert self.sim_app is not None, "the stack is not started"
        store: Store = self.sim_app.state.ctx.store
        return store

    async def __aenter__(self) -> Stack:
        busy = self.ports.busy()
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
        codec_endpoint = None
        if self.ring is not None:
            if not self.codec_token:
                raise ValueError("payload encryption in the dev stack needs a codec server token too")
            codec = create_codec_server(EncryptionCodec(self.ring), self.codec_token, self.settings.codec_cors_origins)
            self._exit.callback(BackgroundServer(codec, port=self.ports.codec).start().stop)
            codec_endpoint = self.codec_url
        server = self._server = dev_server(
            self.ports.temporal,
            ui_port=self.ports.ui,
            db=self.home / "temporal.db",
            codec_endpoint=codec_endpoint,
            log=self.home / "temporal.log",
        )
        address = f"127.0.0.1:{self.ports.temporal}"
        self.client = await connect_when_up(
            address,
            lambda: server.alive,
            ring=self.ring,
            runtime=metrics_runtime(f"127.0.0.1:{self.ports.metrics}"),
        )

        store = Store(str(self.home / "simulators.db"))
        webhooks = Webhooks(  # the simulators sign with the secrets the ingress checks
            self.ingress_url,
            hubspot_webhooks.signing_secret().get_secret_value(),
            stripe_webhooks.signing_secret().get_secret_value(),
        )
        outbound = f"{self.ingress_url}/webhooks/salesforce"  # where a won opportunity's Outbound Message goes
        sim_settings = simulators_config(
            self.ports.simulators, store.path, webhooks, webhook_backoff_s=0.5, salesforce_outbound_url=outbound
        )
        self.sim_app = create_app(sim_settings, store)
        self.simulators = BackgroundServer(self.sim_app, port=self.ports.simulators, lifespan="off").start()

        async def ingress_client() -> Client:
            return await connect(None, target_host=address, namespace="default", ring=self.ring)

        ingress = create_ingress(self.settings, connect=ingress_client, roles=self.roles)
        self._exit.callback(BackgroundServer(ingress, port=self.ports.ingress).start().stop)
        self._exit.callback(self.simulators.stop)
        await self._exit.enter_async_context(
            simulated_worker(
                self.client, self.simulators_url, TASK_QUEUE, self.settings.erp_activities_per_second, self.roles
            )
        )
        if self.reconcile_every is not None:
            await reconcile_on_schedule(self.client, TASK_QUEUE, self.reconcile_every)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self._exit.aclose()
        if self._server is not None:
            self._server.stop()  # the dev server flushes its SQLite file on SIGTERM
