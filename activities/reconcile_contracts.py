"""Reconciliation's reads of Temporal itself: the customer's Contract entity, the running contracts (by visibility,
paged), and whether a deal's saga is running. From inside the reconciliation activity, with the worker's client.

Outside a worker (an ActivityEnvironment without a client) Temporal cannot be asked: the deal's records alone
decide, as they did before contracts.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities.contract import check_contract
from activities.errors import vendor_step
from models.contract import CONTRACT_WORKFLOW, Contract, contract_id
from models.deal import Deal
from models.postconditions import SagaRecords
from models.reconcile import DealsChecked, Drift, DriftItem
from models.saga import Stage, saga_id
from models.steps import StepInput
from ports import Billing

LISTABLE = re.compile(r"^[\w.:-]+$")  # ids a visibility query can quote plainly
QUERY_TIMEOUT = timedelta(seconds=10)  # a contract whose worker is gone must not hold the page
CONTRACTS = "contracts"  # the cursor's name for the contract pages, after every CRM's deals: `contracts|<token>`
RUNNING_CONTRACTS = f"WorkflowType = '{CONTRACT_WORKFLOW}' AND ExecutionStatus = 'Running'"


def worker_client() -> Client | None:
    try:
        return activity.client()
    except RuntimeError:  # no client given to this activity's environment
        return None


class Unanswered(Exception):
    """A contract entity that exists but did not answer its `contract` query (no worker polls its queue, say)."""


async def read_contract(client: Client, workflow_id: str) -> tuple[bool, Contract | None]:
    """Whether the entity exists, and its `contract` query (None until it has opened the contract)."""
    try:
        raw = await client.get_workflow_handle(workflow_id).query("contract", rpc_timeout=QUERY_TIMEOUT)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return False, None
        raise Unanswered(f"{workflow_id} did not answer its contract query: {error.message}") from error
    except WorkflowQueryFailedError as error:
        raise Unanswered(f"{workflow_id}'s contract query failed: {error}") from error
    return True, Contract.model_validate(raw) if raw is not None else None


def unanswered(workflow_id: str, why: Unanswered) -> DriftItem:
    """For a person: reconciliation could not see what this contract holds, so billing was not checked."""
    return DriftItem(
        kind=Drift.CONTRACT_MISMATCH,
        deal_id=workflow_id,
        system="q2c",
        detail=f"not checked: {why}",
        contract_id=workflow_id,
        field="unanswered",
    )


@dataclass
class ContractBook:
    """One page's look-ups: each customer's contract read once, each contract's billing checked once."""

    client: Client | None
    billing: Billing
    contracts: dict[str, tuple[bool, Contract | None]] = field(default_factory=dict)
    problems: dict[str, Unanswered] = field(default_factory=dict)
    checked: set[str] = field(default_factory=set)
    listed_sagas: set[str] = field(default_factory=set)  # asked of visibility for the page: no describe each
    running_sagas: set[str] = field(default_factory=set)

    async def prepare(self, crm: str, deals: list[Deal]) -> None:
        """The page's contracts and running sagas in two visibility requests, not a Temporal call per deal (at
        100,000 deals); an id visibility cannot be asked about (the time-skipping server lists nothing) is asked
        alone. A contract opened in the last second may not be listed yet: its first deal is then checked alone."""
        if self.client is None or not deals:
            return
        contracts = sorted(
            {contract_id(crm, d.company.id) for d in deals if d.company and LISTABLE.match(d.company.id)}
        )
        sagas = [saga_id(crm, d.id) for d in deals if LISTABLE.match(d.id)]
        try:
            found = await self.listed(f"WorkflowType = '{CONTRACT_WORKFLOW}'", contracts)
            self.running_sagas = await self.listed("ExecutionStatus = 'Running'", sagas)
        except RPCError as error:
            if error.status is not RPCStatusCode.UNIMPLEMENTED:
                raise
            return
        self.contracts.update({wid: (False, None) for wid in contracts if wid not in found})
        self.listed_sagas = set(sagas)

    async def listed(self, condition: str, ids: list[str]) -> set[str]:
        assert self.client is not None
        if not ids:
            return set()
        quoted = ", ".join(f"'{i}'" for i in ids)
        query = f"{condition} AND WorkflowId IN ({quoted})"
        return {e.id async for e in self.client.list_workflows(query, page_size=len(ids))}

    async def annotate(self, records: SagaRecords) -> None:
        """The customer's contract on a completed deal's records; whether a saga with no outcome yet is running."""
        if self.client is None:
            return
        deal = records.deal
        if not records.outcome and not records.orders:
            wid = saga_id(records.crm, deal.id)
            listed = wid in self.listed_sagas
            records.saga_running = wid in self.running_sagas if listed else await self.running(wid)
        elif records.outcome == Stage.COMPLETED.value and deal.company is not None:
            wid = contract_id(records.crm, deal.company.id)
            if wid not in self.contracts:
                try:
                    self.contracts[wid] = await read_contract(self.client, wid)
                except Unanswered as why:
                    self.contracts[wid], self.problems[wid] = (True, None), why
            exists, records.contract = self.contracts[wid]
            records.contract_id = wid if exists else None

    async def running(self, workflow_id: str) -> bool:
        assert self.client is not None
        try:
            described = await self.client.get_workflow_handle(workflow_id).describe()
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                return False
            raise
        return described.status is WorkflowExecutionStatus.RUNNING

    async def drift(self, records: SagaRecords) -> list[DriftItem]:
        """The customer's billing against the customer's contract, once per page whatever its deals."""
        wid = records.contract_id
        if wid is None or wid in self.checked:
            return []
        self.checked.add(wid)
        if wid in self.problems:
            return [unanswered(wid, self.problems[wid])]
        return await check_contract(self.billing, records.contract) if records.contract else []


async def contract_page(billing: Billing, token: str, limit: int) -> DealsChecked:
    """One page of running contracts (Temporal visibility, `limit` a page), each checked against billing."""
    client = worker_client()
    if client is None:
        return DealsChecked(checked=0, items=[], next_after=None, contracts_unlisted="no Temporal client here")
    listing = client.list_workflows(
        RUNNING_CONTRACTS, page_size=limit, next_page_token=base64.urlsafe_b64decode(token) if token else None
    )
    try:
        await listing.fetch_next_page()
    except RPCError as error:
        if error.status is not RPCStatusCode.UNIMPLEMENTED:
            raise
        # Temporal's time-skipping test server has no visibility: said in the report, not taken for clean
        return DealsChecked(checked=0, items=[], next_after=None, contracts_unlisted=f"visibility: {error.message}")
    items: list[DriftItem] = []
    checked = 0
    with vendor_step(StepInput()):  # billing's errors classified as in the deal pages
        for n, execution in enumerate(listing.current_page or []):
            activity.heartbeat(n)
            try:
                _, contract = await read_contract(client, execution.id)
            except Unanswered as why:
                items.append(unanswered(execution.id, why))
                continue
            if contract is None:  # still opening: the sale's saga hands it over in a moment
                continue
            checked += 1
            items += await check_contract(billing, contract)
    after = listing.next_page_token
    next_after = f"{CONTRACTS}|{base64.urlsafe_b64encode(after).decode()}" if after else None
    return DealsChecked(checked=0, items=items, next_after=next_after, contracts_checked=checked)
