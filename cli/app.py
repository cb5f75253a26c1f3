"""The `q2c` command, assembled from its audiences' parts; `q2c --help` lists them by audience."""

from __future__ import annotations

import typer

from cli import admin, contract, operators, services

app = typer.Typer(help="q2c: quote-to-cash sagas on Temporal.", no_args_is_help=True, pretty_exceptions_enable=False)
for part, audience in ((services, "Services"), (operators, "Operators"), (admin, "Admin")):
    for command in part.app.registered_commands:
        command.rich_help_panel = audience
    for group in part.app.registered_groups:
        group.rich_help_panel = audience
    app.add_typer(part.app)
app.add_typer(contract.app, rich_help_panel="Operators")  # q2c contract show|history|cancel

if __name__ == "__main__":
    app()
