"""Commands for whoever runs q2c's platform: Temporal Schedules, event contracts, payload-encryption keys."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from cli.common import console, settings, temporal

app = typer.Typer()
schemas = typer.Typer(help="Event contracts as JSON Schema.", no_args_is_help=True)
app.add_typer(schemas, name="schemas")
schedules = typer.Typer(help="Temporal Schedules q2c relies on.", no_args_is_help=True)
app.add_typer(schedules, name="schedules")


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

    async def apply() -> None:
        done = await apply_schedule(await temporal(), timedelta(minutes=every_minutes), job, config.task_queue)
        console.print(f"{done} schedule {SCHEDULE_ID}: every {every_minutes} min, {window_days}-day window")

    asyncio.run(apply())


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
