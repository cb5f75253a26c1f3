"""`q2c contract`: a customer's contract (show, history) and its cancellation by an operator.

A contract is named by its customer: `50004` (a company of the configured CRM), `hubspot:50004`, or its workflow
id `q2c-contract-hubspot-50004`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from enum import StrEnum
from typing import Any, TypeVar

import typer
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.contract import check_contract
from cli.common import console, temporal, user
from connectors.registry import open_adapters
from connectors.roles import Roles
from models.contract import CancelContract, ChangeRecord, Contract, ContractStatus, contract_id

T = TypeVar("T")
app = typer.Typer(name="contract", help="A customer's contract after the first sale.", no_args_is_help=True)


class At(StrEnum):
    TERM_END = "term_end"
    NOW = "now"


def contract_ref(text: str) -> str:
    """The contract's workflow id from `50004`, `hubspot:50004` or `q2c-contract-hubspot-50004`."""
    if text.startswith("q2c-contract-"):
        return text
    crm, _, company = text.rpartition(":")
    if not company or any(c.isspace() for c in text):
        raise typer.BadParameter(f"{text!r} names no contract: give 50004, hubspot:50004 or q2c-contract-hubspot-50004")
    return contract_id(crm or Roles().crm, company)


CONTRACT = typer.Argument(..., parser=contract_ref, metavar="CONTRACT", help="50004, hubspot:50004 or its id")


async def read(client: Client, workflow_id: str) -> tuple[Contract | None, ContractStatus, list[ChangeRecord]]:
    handle = client.get_workflow_handle(workflow_id)
    raw = await handle.query("contract")
    contract = Contract.model_validate(raw) if raw is not None else None
    status = await handle.query("status", result_type=ContractStatus)
    return contract, status, await handle.query("history", result_type=list[ChangeRecord])


async def cancel(client: Client, workflow_id: str, at: At, requested_by: str, reason: str) -> None:
    """Queue the cancellation: applied after every change accepted before it, with the region's refund rule."""
    request = CancelContract(at=at.value, requested_by=requested_by, reason=reason)
    await client.get_workflow_handle(workflow_id).signal("cancel_contract", request)


def _run(action: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(action)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            console.print(f"[red]no such contract: {error.message}[/red]")
            raise typer.Exit(2) from None
        raise


@app.command("show")
def show(workflow_id: str = CONTRACT) -> None:
    """The contract: term, lines, orders, support, and what is being applied or waits."""

    async def go() -> None:
        contract, status, _ = await read(await temporal(), workflow_id)
        console.print_json(contract.model_dump_json() if contract else "null")
        console.print_json(status.model_dump_json())

    _run(go())


@app.command("history")
def history(workflow_id: str = CONTRACT) -> None:
    """Every change: kind, deal, who, when, outcome and the amounts billing and the ERP recorded."""

    async def go() -> None:
        for record in (await read(await temporal(), workflow_id))[2]:
            money = f" billing {record.billing_amount} erp {record.erp_amount}" if record.billing_amount else ""
            deal = f" deal {record.deal_id}" if record.deal_id else ""
            when = record.applied_at or record.accepted_at
            console.print(f"{when:%Y-%m-%d %H:%M} {record.kind}{deal} by {record.requested_by}: {record.outcome}"
                          f"{money} {record.detail}".rstrip(), markup=False)  # fmt: skip

    _run(go())


@app.command("cancel")
def cancel_command(
    workflow_id: str = CONTRACT,
    at: At = typer.Option(
        At.TERM_END, "--at", help="term_end: service runs to the term's last day; now: it ends today"
    ),
    reason: str = typer.Option("", "--reason", help="why, for the contract's history"),
) -> None:
    """Cancel the contract at term end (billing cancels at period end) or now."""

    async def go() -> None:
        await cancel(await temporal(), workflow_id, at, user(), reason)
        console.print(f"cancellation at {at.value} queued on {workflow_id}", markup=False)

    _run(go())


@app.command("check")
def check(workflow_id: str = CONTRACT) -> None:
    """Reconcile the contract with billing: `contract_mismatch` per line billed otherwise; exit 1 if any."""

    async def go() -> int:
        contract = (await read(await temporal(), workflow_id))[0]
        if contract is None:
            console.print(f"{workflow_id} has not opened its contract yet", markup=False)
            return 0
        async with open_adapters() as adapters:
            found = await check_contract(adapters.billing, contract)
        for item in found:
            console.print(f"{item.kind.value} {item.system} {item.detail}", markup=False)
        if not found:
            console.print(f"{workflow_id}: billing matches the contract", markup=False)
        return 1 if found else 0

    raise typer.Exit(_run(go()))
