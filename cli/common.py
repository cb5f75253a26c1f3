"""What every command shares: settings, the console, the Temporal client, and plain answers to bad input."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console
from temporalio.client import Client

from client.sagas import SagaClient, SagaNotFound, SagaRef
from infra.settings import Q2CSettings
from infra.temporal import connect

T = TypeVar("T")
console = Console()


def settings() -> Q2CSettings:
    return Q2CSettings()


def user() -> str:
    """Who runs the command, for the saga's record of who decided what."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


async def temporal() -> Client:
    return await connect(settings().temporal_profile)


async def sagas() -> SagaClient:
    config = settings()
    return SagaClient(await temporal(), task_queue=config.task_queue, **config.saga_terms())


def saga_ref(text: str) -> SagaRef:
    """A saga on the command line: `1234` (a deal of the configured CRM), `hubspot:1234` or `q2c-hubspot-1234`."""
    try:
        return SagaRef.parse(text)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


def run(action: Callable[[], Awaitable[T]]) -> T:
    """Run an async command; a saga that does not exist is a plain message and exit code 2."""

    async def guarded() -> T:
        try:
            return await action()
        except SagaNotFound as error:
            console.print(f"[red]{error}[/red]")
            raise typer.Exit(2) from None

    return asyncio.run(guarded())
