"""Commands that run q2c's processes: the worker, the ingress, the codec server, the simulators, the dev stack
and the demo. Each long-running service configures its logs and traces the same way."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import typer
import uvicorn

from cli.common import console, settings

app = typer.Typer()


def _observe(service: str) -> None:
    """Logs and traces for a long-running service, from Q2C_LOG_* and Q2C_TRACES / OTEL_*."""
    from infra.logs import configure_logging
    from infra.telemetry import configure_tracing

    config = settings()
    configure_logging(config.log_format, config.log_level)
    configure_tracing(service, config.traces)


@app.command()
def worker() -> None:
    """Run the worker service (Temporal connection from TEMPORAL_* / temporal.toml); SIGTERM drains it."""
    from temporalio.service import RPCError

    from infra.telemetry import metrics_runtime
    from infra.temporal import connect, register_search_attributes
    from workers.worker import run_worker

    _observe("q2c-worker")
    config = settings()
    bind = config.metrics_bind

    async def serve() -> None:
        client = await connect(config.temporal_profile, runtime=metrics_runtime(bind) if bind else None)
        try:
            await register_search_attributes(client)
        except RPCError as error:  # Temporal Cloud: add them in the UI or with tcld
            console.print(f"[yellow]could not register search attributes ({error.message}); add them once[/yellow]")
        console.print(
            f"worker on task queue {config.task_queue} at {client.service_client.config.target_host}"
            + (f", metrics on http://{bind}/metrics" if bind else "")
        )
        await run_worker(
            client,
            config.task_queue,
            erp_activities_per_second=config.erp_activities_per_second,
            max_cached_workflows=config.max_cached_workflows,
        )

    asyncio.run(serve())


@app.command()
def ingress(
    host: str = typer.Option(None, envvar="Q2C_INGRESS_HOST"), port: int = typer.Option(None, envvar="Q2C_INGRESS_PORT")
) -> None:
    """Run the ingress: POST /webhooks/<vendor> for each vendor served, and the submit API."""
    from workers.ingress import create_ingress

    _observe("q2c-ingress")
    config = settings()
    uvicorn.run(
        create_ingress(config),
        host=host or config.ingress_host,
        port=port or config.ingress_port,
        log_config=None,  # uvicorn's loggers go through q2c's structlog handler
        timeout_graceful_shutdown=10,
    )


@app.command("codec-server")
def codec_server(
    host: str = typer.Option(None, envvar="Q2C_CODEC_SERVER_HOST"),
    port: int = typer.Option(None, envvar="Q2C_CODEC_SERVER_PORT"),
) -> None:
    """Serve /encode and /decode so the Temporal UI and CLI can show decrypted payloads to a token holder."""
    from infra.codec import EncryptionCodec
    from workers.codec_server import create_codec_server

    _observe("q2c-codec-server")
    config = settings()
    ring, token = config.key_ring(), config.codec_server_token
    if ring is None or token is None:
        console.print("[red]set Q2C_CODEC_KEYS (or Q2C_CODEC_KEYS_FILE) and Q2C_CODEC_SERVER_TOKEN[/red]")
        raise typer.Exit(2)
    uvicorn.run(
        create_codec_server(EncryptionCodec(ring), token.get_secret_value(), config.codec_cors_origins),
        host=host or config.codec_server_host,
        port=port or config.codec_server_port,
        log_config=None,
        timeout_graceful_shutdown=10,
    )


@app.command()
def simulators(
    host: str = typer.Option("127.0.0.1", envvar="Q2C_SIM_HOST"),
    port: int = typer.Option(8100, envvar="Q2C_SIM_PORT"),
    db: str = typer.Option(":memory:", envvar="Q2C_SIM_DB", help="SQLite file, or :memory:"),
) -> None:
    """Run the HubSpot, Salesforce, NetSuite, Stripe and Zendesk simulators on one port."""
    from simulators.app import create_app
    from simulators.context import SimulatorSettings

    sim_settings = SimulatorSettings(host=host, port=port, db=db)
    prefixes = "/hubspot /salesforce /netsuite /stripe /zendesk, admin /_sim"
    console.print(f"simulators on {sim_settings.base_url} ({prefixes})")
    uvicorn.run(create_app(sim_settings), host=host, port=port, log_level="warning")


@app.command()
def dev(home: Path = typer.Option(Path(".q2c"), help="where Temporal's and the simulators' SQLite files live")) -> None:
    """Start the embedded stack (Temporal + UI, simulators, ingress, worker) and keep it running."""
    from devstack.stack import Stack

    async def keep_running() -> None:
        config = settings()
        ring, token = config.key_ring(), config.codec_server_token
        async with Stack(
            home=home,
            ring=ring,
            codec_token=token.get_secret_value() if token else None,
            traces=config.traces or "console",
        ) as stack:
            console.print(
                f"Temporal {stack.ports.temporal}, UI {stack.ui_url}, ingress {stack.ingress_url}, "
                f"simulators {stack.simulators_url}. Close a deal with:\n"
                f"  curl -X POST {stack.simulators_url}/_sim/hubspot/deals/10005/close\nCtrl-C stops."
            )
            stop = asyncio.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
            await stop.wait()
            console.print("stopping: draining the worker, then the dev server")

    asyncio.run(keep_running())


@app.command()
def demo(
    crm: str = typer.Option(
        "", "--crm", help="whose deals: hubspot, salesforce, both (HubSpot and Salesforce at once); default Q2C_CRM"
    ),
    story: str = typer.Option(
        "sagas",
        "--story",
        help="sagas (28 deals on the dev stack), contract (a contract's years on the time-skipping server), all",
    ),
) -> None:
    """Start the embedded stack, close 28 deals, and check every outcome in every system; `--story contract`:
    a contract's life (buy, expand, renew; a non-renewal ending support), checked in every system."""
    from connectors.registry import CRMS
    from devstack.contract_story import run_contract_story
    from devstack.demo import run_demo
    from infra.logs import configure_logging

    if story not in ("sagas", "contract", "all"):
        raise typer.BadParameter(f"{story}: the stories are sagas, contract, all", param_hint="--story")
    crms = ("hubspot", "salesforce") if crm == "both" else tuple(n.strip() for n in crm.split(",") if n.strip())
    unknown = [n for n in crms if n not in CRMS]
    if unknown:
        raise typer.BadParameter(f"{', '.join(unknown)}: known CRMs are {', '.join(CRMS)}, or both", param_hint="--crm")

    log = Path(".q2c/demo.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    configure_logging("json", settings().log_level, stream=log.open("w"))
    console.print(f"service logs (JSON) go to {log}")
    failed = asyncio.run(run_demo(console, crms=crms)) if story != "contract" else 0
    if story != "sagas":  # the contract's chapter runs after the sagas' even if they failed: both are reported
        failed = max(failed, asyncio.run(run_contract_story(console)))
    raise typer.Exit(failed)
