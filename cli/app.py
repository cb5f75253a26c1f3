"""The `q2c` command: services, operator actions, schemas and the demo."""

from __future__ import annotations

import asyncio
import getpass
import signal
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import typer
import uvicorn
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from infra.settings import Q2CSettings
from infra.temporal import connect, register_search_attributes
from models.saga import SagaStatus, saga_id


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


app = typer.Typer(help="q2c: quote-to-cash sagas on Temporal.", no_args_is_help=True, pretty_exceptions_enable=False)
schemas = typer.Typer(help="Event contracts as JSON Schema.", no_args_is_help=True)
app.add_typer(schemas, name="schemas")
schedules = typer.Typer(help="Temporal Schedules q2c relies on.", no_args_is_help=True)
app.add_typer(schedules, name="schedules")
console = Console()


@schemas.command("export")
def export_schemas(directory: Path = typer.Argument(Path("schemas"), help="where to write the .json files")) -> None:
    """Write every versioned event contract as JSON Schema."""
    from models.schemas import export

    for path in export(directory):
        console.print(f"wrote {path}")


@schemas.command("check")
def check_schemas(directory: Path = typer.Argument(Path("schemas"))) -> None:
    """Fail when a model change would break a consumer of the committed schemas."""
    from models.schemas import compatibility_report

    problems = compatibility_report(directory)
    for problem in problems:
        console.print(f"[red]{problem}[/red]")
    if problems:
        raise typer.Exit(1)
    console.print("schemas compatible")


@app.command()
def simulators(
    host: str = typer.Option("127.0.0.1", envvar="Q2C_SIM_HOST"),
    port: int = typer.Option(8100, envvar="Q2C_SIM_PORT"),
    db: str = typer.Option(":memory:", envvar="Q2C_SIM_DB", help="SQLite file, or :memory:"),
) -> None:
    """Run the HubSpot, NetSuite, Stripe and Zendesk simulators on one port."""
    from simulators.app import create_app
    from simulators.context import SimulatorSettings

    settings = SimulatorSettings(host=host, port=port, db=db)
    console.print(f"simulators on {settings.base_url} (/hubspot /netsuite /stripe /zendesk, admin /_sim)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


@app.command()
def demo() -> None:
    """Start the embedded stack, close 28 deals, and check every outcome in every system."""
    from devstack.demo import run_demo
    from infra.logs import configure_logging

    log = Path(".q2c/demo.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    configure_logging("json", settings().log_level, stream=log.open("w"))
    console.print(f"service logs (JSON) go to {log}")
    raise typer.Exit(asyncio.run(run_demo(console)))


@app.command()
def dev(home: Path = typer.Option(Path(".q2c"), help="where Temporal's and the simulators' SQLite files live")) -> None:
    """Start the embedded stack (Temporal + UI, simulators, ingress, worker) and keep it running."""
    from devstack.stack import Stack

    async def run() -> None:
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

    asyncio.run(run())


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
    from infra.telemetry import metrics_runtime
    from workers.worker import run_worker

    _observe("q2c-worker")
    bind = settings().metrics_bind

    async def run() -> None:
        client = await connect(settings().temporal_profile, runtime=metrics_runtime(bind) if bind else None)
        try:
            await register_search_attributes(client)
        except RPCError as error:  # Temporal Cloud: add them in the UI or with tcld
            console.print(f"[yellow]could not register search attributes ({error.message}); add them once[/yellow]")
        console.print(
            f"worker on task queue {settings().task_queue} at {client.service_client.config.target_host}"
            + (f", metrics on http://{bind}/metrics" if bind else "")
        )
        await run_worker(client, settings().task_queue, erp_activities_per_second=settings().erp_activities_per_second)

    asyncio.run(run())


@app.command()
def ingress(
    host: str = typer.Option(None, envvar="Q2C_INGRESS_HOST"), port: int = typer.Option(None, envvar="Q2C_INGRESS_PORT")
) -> None:
    """Run the webhook ingress (POST /webhooks/hubspot)."""
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


@app.command("codec-keys")
def codec_keys(
    rotate: Path = typer.Option(None, help="a key file to rotate: a new active key, the old ones kept for reading"),
    key_id: str = typer.Option(None, help="the new key's id (default: today's date)"),
) -> None:
    """Print a new key file (JSON) for Q2C_CODEC_KEYS_FILE, or the rotated contents of an existing one."""
    import datetime

    from infra.codec import KeyRing

    new_id = key_id or datetime.date.today().isoformat()
    ring = KeyRing.load(rotate).rotated(new_id) if rotate else KeyRing.generate(new_id)
    print(ring.dump())


@app.command()
def start(deal_id: str, by: str = typer.Option(_user(), help="who starts it, for the record")) -> None:
    """Start the saga for a closed-won deal (joins the running one if there is one)."""
    from client.starter import start_saga

    async def run() -> None:
        client = await _client()
        started = await start_saga(
            client,
            deal_id,
            triggered_by=f"cli:{by}",
            correlation_id=f"cli-{uuid.uuid4()}",
            task_queue=settings().task_queue,
            policies=settings().policies,
        )
        console.print(f"{'started' if started.new else 'already there:'} {started.workflow_id}")

    asyncio.run(run())


@app.command()
def status(deal_id: str, as_json: bool = typer.Option(False, "--json", help="print the raw status")) -> None:
    """Show a saga's business status: stage, hold, steps, external ids, compensations, error."""
    from models.saga import SagaStatus

    async def run() -> None:
        handle = (await _client()).get_workflow_handle(saga_id("hubspot", deal_id))
        current = await handle.query("status", result_type=SagaStatus)
        if as_json:
            console.print_json(current.model_dump_json())
        else:
            render_status(current)

    asyncio.run(_operator(run))


@app.command("approve-credit")
def approve_credit(deal_id: str, approver: str = typer.Option(_user()), reason: str = typer.Option("")) -> None:
    """Release a credit-review hold."""
    from models.saga import CreditDecision

    asyncio.run(_operator(lambda: _signal(deal_id, "approve_credit", CreditDecision(approver=approver, reason=reason))))


@app.command("reject-credit")
def reject_credit(deal_id: str, approver: str = typer.Option(_user()), reason: str = typer.Option("")) -> None:
    """Reject a credit-review hold: the saga compensates and ends."""
    from models.saga import CreditDecision

    asyncio.run(_operator(lambda: _signal(deal_id, "reject_credit", CreditDecision(approver=approver, reason=reason))))


@app.command()
def cancel(deal_id: str, by: str = typer.Option(_user()), reason: str = typer.Option("")) -> None:
    """Cancel a saga: completed steps are undone in reverse order."""
    from models.saga import CancelRequest

    asyncio.run(_operator(lambda: _signal(deal_id, "cancel", CancelRequest(requested_by=by, reason=reason))))


def _decide(deal_id: str, action: str, by: str, reason: str) -> None:
    from models.saga import OperatorDecision

    asyncio.run(_operator(lambda: _signal(deal_id, action, OperatorDecision(by=by, reason=reason))))


@app.command()
def retry(deal_id: str, by: str = typer.Option(_user()), reason: str = typer.Option("")) -> None:
    """Run a parked saga's step again, once its data is fixed."""
    _decide(deal_id, "retry", by, reason)


@app.command()
def skip(deal_id: str, by: str = typer.Option(_user()), reason: str = typer.Option("")) -> None:
    """Go on without a parked step, where the step allows it (e.g. it was done by hand)."""
    _decide(deal_id, "skip", by, reason)


@app.command()
def compensate(deal_id: str, by: str = typer.Option(_user()), reason: str = typer.Option("")) -> None:
    """Give up on a parked step: undo what the saga did and end it."""
    _decide(deal_id, "compensate", by, reason)


@app.command()
def exceptions() -> None:
    """Parked sagas, grouped by error class, oldest first: what needs a person."""
    from client.operations import PARKED_QUERY, parked_sagas

    async def run() -> None:
        grouped = await parked_sagas(await _client())
        if not grouped:
            console.print("no saga is waiting for an operator")
            return
        for code, sagas_ in grouped.items():
            table = Table("deal", "customer", "ERP order", "step", "since (UTC)", "may", "error", title=code)
            for s in sagas_:
                assert s.exception is not None
                table.add_row(
                    s.deal_id,
                    s.customer_id or "-",
                    s.exception.context.get("erp_order_number") or s.exception.context.get("erp_order_id") or "-",
                    s.exception.step,
                    f"{s.exception.since:%Y-%m-%d %H:%M}",
                    ", ".join(s.exception.actions),
                    s.exception.error.message[:80],
                )
            console.print(table)
        console.print(f'the same with Temporal\'s CLI: temporal workflow list --query "{PARKED_QUERY}"')

    asyncio.run(run())


@app.command()
def reconcile(
    since: str = typer.Option(None, help="first close date (YYYY-MM-DD); default: --window-days back"),
    until: str = typer.Option(None, help="last close date (YYYY-MM-DD); default: today"),
    window_days: int = typer.Option(30),
    repair: bool = typer.Option(False, help="start missing sagas, cancel leftovers, refresh support data"),
    report: Path = typer.Option(None, help="write the report here as JSON, and a table beside it (.txt)"),
) -> None:
    """Compare CRM, ERP, billing and support for closed-won deals now; exit 1 if there is drift."""
    from datetime import date

    from client.operations import reconcile_now, report_table
    from models.reconcile import ReconcileInput, ReconciliationReport

    config = settings()
    job = ReconcileInput(
        since=date.fromisoformat(since) if since else None,
        until=date.fromisoformat(until) if until else None,
        window_days=window_days,
        repair=repair,
        task_queue=config.task_queue,
        policies=config.policies,
    )

    async def run() -> ReconciliationReport:
        return await reconcile_now(await _client(), job, config.task_queue)

    done = asyncio.run(run())
    table = report_table(done)
    console.print(table, markup=False, highlight=False)
    if report:
        report.write_text(done.model_dump_json(indent=1))
        report.with_suffix(".txt").write_text(table + "\n")
        console.print(f"wrote {report} and {report.with_suffix('.txt')}")
    raise typer.Exit(0 if done.clean else 1)


@schedules.command("apply")
def apply_schedules(
    every_minutes: int = typer.Option(60, help="how often reconciliation runs"),
    window_days: int = typer.Option(30, help="each run checks deals closed in this many days"),
    repair: bool = typer.Option(False, help="let scheduled runs repair what they can"),
) -> None:
    """Create or update the Temporal Schedule that runs reconciliation (hourly by default)."""
    from datetime import timedelta

    from client.operations import SCHEDULE_ID, apply_schedule
    from models.reconcile import ReconcileInput

    config = settings()
    job = ReconcileInput(window_days=window_days, repair=repair, task_queue=config.task_queue, policies=config.policies)

    async def run() -> None:
        done = await apply_schedule(await _client(), timedelta(minutes=every_minutes), job, config.task_queue)
        console.print(f"{done} schedule {SCHEDULE_ID}: every {every_minutes} min, {window_days}-day window")

    asyncio.run(run())


def settings() -> Q2CSettings:
    return Q2CSettings()


async def _client() -> Client:
    return await connect(settings().temporal_profile)


async def _signal(deal_id: str, name: str, payload: BaseModel) -> None:
    handle = (await _client()).get_workflow_handle(saga_id("hubspot", deal_id))
    await handle.signal(name, payload)
    console.print(f"sent {name} to {handle.id}")


async def _operator(action: Callable[[], Awaitable[None]]) -> None:
    """Operator commands say plainly when the saga does not exist."""
    try:
        await action()
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            console.print(f"[red]no saga for that deal: {error.message}[/red]")
            raise typer.Exit(2) from None
        raise


def render_status(current: SagaStatus) -> None:
    console.print(
        f"[bold]{current.workflow_id}[/bold]  stage [bold]{current.stage.value}[/bold]  "
        f"customer {current.customer_id or '-'}  amount {current.amount or '-'}"
    )
    if current.hold:
        console.print(
            f"on hold: {current.hold.reason} since {current.hold.since:%Y-%m-%d %H:%M} UTC, "
            f"deadline {current.hold.deadline:%Y-%m-%d %H:%M} UTC: {current.hold.detail}"
        )
    steps = Table("step", "state", "attempts", "started", "finished", "external id")
    for step in current.steps:
        steps.add_row(
            step.name,
            step.state.value,
            str(step.attempts),
            f"{step.started_at:%H:%M:%S}",
            f"{step.finished_at:%H:%M:%S}" if step.finished_at else "-",
            step.external_id or "-",
        )
    console.print(steps)
    for hold in current.holds:
        if hold.decision:
            console.print(f"hold {hold.reason}: {hold.decision} by {hold.decided_by} ({hold.note})")
    for done in current.compensations:
        console.print(f"undone: {done.step}: {done.action} -> {done.result}")
    if current.error:
        console.print(f"[red]{current.error.step}: {current.error.type}: {current.error.message}[/red]")


if __name__ == "__main__":
    app()
