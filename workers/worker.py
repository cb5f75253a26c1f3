"""The worker service: the saga and its activities on the `q2c` task queue, drained on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.billing import BillingActivities
from activities.crm import CrmActivities
from activities.customer_sync import CustomerSyncActivities
from activities.erp import ErpActivities
from activities.reconcile import ReconcileActivities
from activities.support import SupportActivities
from connectors.hubspot.client import HubSpotClient
from connectors.netsuite.client import NetSuiteClient
from connectors.settings import HubSpotSettings, NetSuiteSettings, StripeSettings, ZendeskSettings
from connectors.stripe.client import StripeClient
from connectors.zendesk.client import ZendeskClient
from infra.telemetry import ActivityContext
from workflows.billing_events import LateBillingEventWorkflow
from workflows.customer_sync import CustomerSync
from workflows.quote_to_cash import QuoteToCash
from workflows.reconciliation import Reconciliation


def activities_for(
    hubspot: HubSpotClient, netsuite: NetSuiteClient, stripe: StripeClient, zendesk: ZendeskClient
) -> list[Callable[..., Any]]:
    crm, erp = CrmActivities(hubspot), ErpActivities(netsuite)
    reconcile = ReconcileActivities(hubspot, netsuite, stripe, zendesk)
    sync = CustomerSyncActivities(hubspot, netsuite, zendesk)
    billing, support = BillingActivities(stripe), SupportActivities(zendesk)
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
    ]


# Imported once and shared by every workflow run instead of re-imported into each sandbox: none has
# mutable module state or does I/O at import. QuoteToCash itself stays sandboxed, so its own code is
# still checked for non-determinism.
PASSTHROUGH = (
    "models",
    "activities",
    "connectors",
    "pydantic",
    "pydantic_core",
    "httpx",
    "structlog",
    "opentelemetry",
    "workflows.kpis",
    "workflows.compensation",
    "workflows.options",
    "workflows.search",
    "workflows.terms",
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
) -> Workers:
    """Sagas and CRM, billing and support calls on `task_queue`; ERP calls on `<task_queue>-erp`.

    The ERP queue's rate limit is enforced by the Temporal server across every worker polling it, so a
    month-end surge queues in Temporal instead of overloading the ERP. ERP activities stay registered on
    the main queue too, for sagas started before the ERP queue existed.
    """
    common: dict[str, Any] = {"interceptors": [ActivityContext()], "graceful_shutdown_timeout": timedelta(seconds=30)}
    main = Worker(
        client,
        task_queue=task_queue,
        workflows=[QuoteToCash, LateBillingEventWorkflow, Reconciliation, CustomerSync],
        activities=activities,
        workflow_runner=sandbox_runner(),
        **common,
    )
    erp = Worker(
        client,
        task_queue=erp_queue(task_queue),
        activities=[a for a in activities if isinstance(getattr(a, "__self__", None), ErpActivities)],
        max_task_queue_activities_per_second=erp_activities_per_second,
        **common,
    )
    return Workers(main, erp)


async def run_worker(
    client: Client, task_queue: str, stop: asyncio.Event | None = None, erp_activities_per_second: float | None = None
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
        hubspot = await stack.enter_async_context(HubSpotClient(HubSpotSettings()))
        netsuite = await stack.enter_async_context(NetSuiteClient(NetSuiteSettings()))
        stripe = await stack.enter_async_context(StripeClient(StripeSettings()))
        zendesk = await stack.enter_async_context(ZendeskClient(ZendeskSettings()))
        worker = build_worker(
            client, task_queue, activities_for(hubspot, netsuite, stripe, zendesk), erp_activities_per_second
        )
        async with worker:
            await stop.wait()
