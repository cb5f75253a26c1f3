"""Reconciliation's reads of Temporal itself: the customer's Contract entity, the running contracts (by visibility,
paged), and whether a deal's saga is running. From inside the reconciliation activity, with the worker's client.

Outside a worker (an ActivityEnvironment without a client) Temporal cannot be asked: the deal's records alone
decide, as they did before contracts.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.contract import check_contract
from activities.errors import vendor_step
from models.contract import CONTRACT_WORKFLOW, Contract, contract_id
from models.deal import Deal
from models.postconditions import SagaRecords
from models.reconcile import DealsChecked, DriftItem
from models.saga import Stage, saga_id
from models.steps import StepInput
from ports import Billing

CONTRACTS = "contracts"  # the cursor's name for the contract pages, after every CRM's deals: `contracts|<token>`
RUNNING_CONTRACTS = f"WorkflowType = '{CONTRACT_WORKFLOW}' AND ExecutionStatus = 'Running'"


def worker_client() -> Client | None:
    try:
        return activity.client()
    except RuntimeError:  # no client given to this activity's environment
        return None


async def read_contract(client: Client, workflow_id: str) -> tuple[bool, Contract | None]:
    """Whether the entity exists, and its `contract` query (None until it has opened the contract)."""
    try:
        raw = await client.get_workflow_handle(workflow_id).query("contract")
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return False, None
        raise
    return True, Contract.model_validate(raw) if raw is not None else None


@dataclass
class ContractBook:
    """One page's look-ups: each customer's contract read once, each contract's billing checked once."""

    client: Client | None
    billing: Billing
    contracts: dict[str, tuple[bool, Contract | None]] = field(default_factory=dict)
    checked: set[str] = field(default_factory=set)

    async def annotate(self, records: SagaRecords) -> None:
        """The customer's contract on a completed deal's records; whether a saga with no outcome yet is running."""
        if self.client is None:
            return
        deal = records.deal
        if not records.outcome and not records.orders:
            records.saga_running = await self.running(saga_id(records.crm, deal.id))
        elif records.outcome == Stage.COMPLETED.value and deal.company is not None:
            wid = contract_id(records.crm, deal.company.id)
            if wid not in self.contracts:
                self.contracts[wid] = await read_contract(self.client, wid)
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

    async def drift(self, deal: Deal, records: SagaRecords) -> list[DriftItem]:
        """The customer's billing against the customer's contract, once per page whatever its deals."""
        contract = records.contract
        if contract is None or contract.contract_id in self.checked:
            return []
        self.checked.add(contract.contract_id)
        return await check_contract(self.billing, contract)


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
            _, contract = await read_contract(client, execution.id)
            if contract is None:  # still opening: the sale's saga hands it over in a moment
                continue
            checked += 1
            items += await check_contract(billing, contract)
    after = listing.next_page_token
    next_after = f"{CONTRACTS}|{base64.urlsafe_b64encode(after).decode()}" if after else None
    return DealsChecked(checked=0, items=items, next_after=next_after, contracts_checked=checked)
