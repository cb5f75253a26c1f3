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
from activities.erp import ErpActivities
from activities.support import SupportActivities
from connectors.hubspot import HubSpotClient
from connectors.netsuite import NetSuiteClient
from connectors.settings import HubSpotSettings, NetSuiteSettings, StripeSettings, ZendeskSettings
from connectors.stripe import StripeClient
from connectors.zendesk import ZendeskClient
from workers.telemetry import ActivityContext
from workflows.quote_to_cash import QuoteToCash


def activities_for(
    hubspot: HubSpotClient, netsuite: NetSuiteClient, stripe: StripeClient, zendesk: ZendeskClient
) -> list[Callable[..., Any]]:
    crm, erp = CrmActivities(hubspot), ErpActivities(netsuite)
    billing, support = BillingActivities(stripe), SupportActivities(zendesk)
    return [
        crm.fetch_deal,
        crm.update_deal,
        erp.resolve_products,
        erp.upsert_customer,
        erp.check_credit,
        erp.create_sales_order,
        erp.close_sales_order,
        erp.invoice_order,
        erp.credit_invoice,
        billing.resolve_prices,
        billing.subscribe,
        billing.finalize_invoice,
        billing.cancel_subscription,
        support.provision_entitlement,
        support.revoke_entitlement,
        support.record_milestone,
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


def build_worker(client: Client, task_queue: str, activities: list[Callable[..., Any]]) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[QuoteToCash],
        activities=activities,
        workflow_runner=sandbox_runner(),
        interceptors=[ActivityContext()],
        graceful_shutdown_timeout=timedelta(seconds=30),
    )


async def run_worker(client: Client, task_queue: str, stop: asyncio.Event | None = None) -> None:
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
        worker = build_worker(client, task_queue, activities_for(hubspot, netsuite, stripe, zendesk))
        async with worker:
            await stop.wait()
