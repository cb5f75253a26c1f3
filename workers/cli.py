"""The `q2c` command: services, operator actions, schemas and the demo."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
import uvicorn
from rich.console import Console

app = typer.Typer(help="q2c: quote-to-cash sagas on Temporal.", no_args_is_help=True, pretty_exceptions_enable=False)
schemas = typer.Typer(help="Event contracts as JSON Schema.", no_args_is_help=True)
app.add_typer(schemas, name="schemas")
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
    """Start the embedded stack and run the demo end to end."""
    from workers.demo import run_demo

    raise typer.Exit(asyncio.run(run_demo(console)))
