"""The worker service: the saga and its activities on the `q2c` task queue, drained on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker, WorkerDeploymentConfig
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.billing import BillingActivities
from activities.contract import ContractActivities
from activities.crm import CrmActivities
from activities.customer_sync import CustomerSyncActivities
from activities.erp import ErpActivities
from activities.reconcile import ReconcileActivities
from activities.support import SupportActivities
from connectors.registry import open_adapters, open_crms
from infra.telemetry import ActivityContext
from ports import Billing, Crm, Erp, Support
from workers.versioning import deployment
from workflows.billing_events import LateBillingEventWorkflow
from workflows.contract import ContractAmendment, ContractEntity
from workflows.customer_sync import CustomerSync
from workflows.quote_to_cash import QuoteToCash
from workflows.quote_to_cash.pinned import PinnedQuoteToCash
from workflows.reconciliation import Reconciliation


def activities_for(
    crm_port: Crm, erp_port: Erp, billing_port: Billing, support_port: Support, crms: Mapping[str, Crm] | None = None
) -> list[Callable[..., Any]]:
    """Every activity, over one adapter per role (`connectors.registry.open_adapters`).

    `crms` are every CRM served (`connectors.registry.open_crms`): a CRM call goes to its saga's CRM.
    """
    ports: tuple[Any, Any, Any, Any] = (crm_port, erp_port, billing_port, support_port)  # names reused below
    crm, erp, billing, support = ports
    reconcile, sync = ReconcileActivities(*ports, crms=crms), CustomerSyncActivities(crm, erp, support, crms)
    contract = ContractActivities(erp, billing, crm, crms)
    crm, erp = CrmActivities(crm, crms), ErpActivities(erp)
    billing, support = BillingActivities(billing), SupportActivities(support)
    return [
        crm.fetch_deal,
        crm.update_deal,
        crm.record_payment,
        erp.resolve_products,
        erp.upsert_customer,
        erp.check_credit,
        erp.create_sales_order,
        erp.close_sales_order,
        erp.invoice_order,
        erp.credit_invoice,
        erp.await_invoice_payment,
        billing.resolve_prices,
        billing.subscribe,
        billing.finalize_invoice,
        billing.cancel_subscription,
        support.provision_entitlement,
        support.revoke_entitlement,
        support.record_milestone,
        reconcile.check_deals,
        sync.propagate,
        sync.read_owner,
        reconcile.repair,
        support.open_finance_review,
        support.update_organization,
        contract.read_subscription,
        contract.change_items,
        contract.cancel_now,
        contract.create_change_order,
        contract.end_at_period_end,
        contract.schedule_renewal_prices,
        contract.open_renewal_deal,
    ]


# Imported once and shared by every workflow run instead of re-imported into each sandbox: none has
# mutable module state or does I/O at import. QuoteToCash itself stays sandboxed, so its own code is
# still checked for non-determinism.
PASSTHROUGH = (
    "models",
    "activities",
    "ports",
    "connectors",
    "pydantic",
    "pydantic_core",
    "httpx",
    "structlog",
    "opentelemetry",
    # workflow-side helpers without workflow definitions or module state: imported once, not per run (a stale
    # list here re-imported the saga kit inside every run: half the worker's CPU, and evictions under load)
    "workflows.kpis",
    "workflows.options",
    "workflows.search",
    "workflows.patches",
    "workflows.kit",
    "workflows.quote_to_cash.steps",
    "workflows.quote_to_cash.terms",
    "workflows.quote_to_cash.visibility",
    "workflows.contract.steps",
    "workflows.contract.terms",
    # QuoteToCash's parts (no workflow definition, no module state) and its hand-off to the contract: re-imported,
    # each new or replayed run compiled all of workflows.contract from source where no bytecode is kept
    # (PYTHONDONTWRITEBYTECODE, as in our image): 23-36 ms of CPU per run, in a burst of starts every first
    # workflow task queued behind the others' (issue 15). Their code only calls `workflow.*`; replay tests guard it.
    "workflows.quote_to_cash.collection",
    "workflows.quote_to_cash.credit",
    "workflows.quote_to_cash.handlers",
    "workflows.contract.handoff",
)


def sandbox_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH))


class Workers:
    """The saga's worker and the ERP's rate-limited one, started and drained together."""

    def __init__(self, main: Worker, erp: Worker) -> None:
        self.main, self.erp = main, erp
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Workers:
        await self._stack.enter_async_context(self.main)
        await self._stack.enter_async_context(self.erp)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._stack.aclose()


def erp_queue(task_queue: str) -> str:
    return f"{task_queue}-erp"


def build_worker(
    client: Client,
    task_queue: str,
    activities: list[Callable[..., Any]],
    erp_activities_per_second: float | None = None,
    deployment_config: WorkerDeploymentConfig | None = None,
    max_cached_workflows: int = 1000,
    erp_steps_at_once: int | None = None,
) -> Workers:
    """Sagas and CRM, billing and support calls on `task_queue`; ERP calls on `<task_queue>-erp`.

    `deployment_config`: this worker's version of the `q2c` deployment (workers/versioning.py; from
    `Q2C_BUILD_ID` when run as `q2c worker`), or None for an unversioned worker. `max_cached_workflows`
    bounds the worker's memory: a saga out of the cache is replayed from its history when it next has work.

    The ERP queue's rate limit is enforced by the Temporal server across every worker polling it, so a
    month-end surge queues in Temporal instead of overloading the ERP. ERP activities stay registered on
    the main queue too, for sagas started before the ERP queue existed.

    `erp_steps_at_once`: ERP steps this process runs at once (the SDK's default, 100, when None). Under a ceiling
    on the ERP's requests per second `run_worker` passes the ceiling, so a step waits for the connector's pacer
    about a second at most and the rest wait in Temporal's queue, where no step timeout runs; more would queue in
    the pacer past the 20 s step timeout and be retried while the first attempt still sends (300 sagas, two
    workers at 10 a second each: 3,605 NetSuite requests instead of 2,100).
    """
    common: dict[str, Any] = {"interceptors": [ActivityContext()], "graceful_shutdown_timeout": timedelta(seconds=30)}
    if deployment_config is not None:
        common["deployment_config"] = deployment_config
    main = Worker(
        client,
        task_queue=task_queue,
        workflows=[
            QuoteToCash if deployment_config is None else PinnedQuoteToCash,  # pinned where versioned
            LateBillingEventWorkflow,
            Reconciliation,
            CustomerSync,
            ContractEntity,
            ContractAmendment,
        ],
        activities=activities,
        workflow_runner=sandbox_runner(),
        max_cached_workflows=max_cached_workflows,
        **common,
    )
    erp = Worker(
        client,
        task_queue=erp_queue(task_queue),
        activities=[
            a for a in activities if isinstance(getattr(a, "__self__", None), ErpActivities | ContractActivities)
        ],
        max_task_queue_activities_per_second=erp_activities_per_second,
        max_concurrent_activities=erp_steps_at_once or 100,
        **common,
    )
    return Workers(main, erp)


async def run_worker(
    client: Client,
    task_queue: str,
    stop: asyncio.Event | None = None,
    erp_activities_per_second: float | None = None,
    max_cached_workflows: int = 1000,
) -> None:
    """Run until SIGTERM/SIGINT (or `stop`), then let in-flight activities finish before exiting."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread
            break
    async with AsyncExitStack() as stack:
        adapters = await stack.enter_async_context(open_adapters())  # Q2C_CRM, Q2C_ERP, ... say which
        crms = await stack.enter_async_context(open_crms(opened={adapters.crm.name: adapters.crm}))  # Q2C_CRMS
        worker = build_worker(
            client,
            task_queue,
            activities_for(*adapters, crms=crms),
            erp_activities_per_second,
            deployment(),
            max_cached_workflows,
            getattr(adapters.erp, "requests_per_second", None),  # an ERP adapter may declare a ceiling
        )
        async with worker:
            await stop.wait()
