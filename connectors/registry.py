"""Which adapter serves which role: configuration (`Q2C_CRM=hubspot`, `Q2C_ERP=netsuite`, ...).

A new vendor is one entry here, pointing at its adapter package; nothing above connectors/ changes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Generic, NamedTuple, TypeVar

from connectors.http import VendorClient
from connectors.hubspot import webhooks as hubspot_webhooks
from connectors.hubspot.adapter import HubSpotCrm
from connectors.hubspot.client import HubSpotClient
from connectors.netsuite.adapter import NetSuiteErp
from connectors.netsuite.client import NetSuiteClient
from connectors.roles import Roles
from connectors.salesforce import webhooks as salesforce_webhooks
from connectors.salesforce.adapter import SalesforceCrm
from connectors.salesforce.client import SalesforceClient
from connectors.settings import (
    HubSpotSettings,
    NetSuiteSettings,
    SalesforceSettings,
    StripeSettings,
    VendorSettings,
    ZendeskSettings,
)
from connectors.stripe import webhooks as stripe_webhooks
from connectors.stripe.adapter import StripeBilling
from connectors.stripe.client import StripeClient
from connectors.zendesk import webhooks as zendesk_webhooks
from connectors.zendesk.adapter import ZendeskSupport
from connectors.zendesk.client import ZendeskClient
from ports import Billing, Crm, Erp, Support

P = TypeVar("P")


@dataclass(frozen=True)
class Vendor(Generic[P]):
    """How to make one vendor's adapter: its settings, its client, the adapter over that client."""

    settings: type[VendorSettings]
    client: Callable[[Any], VendorClient]
    adapter: Callable[[Any], P]


# role -> adapter name -> how to make it; typed per role, so mypy checks each adapter against its port
CRMS: dict[str, Vendor[Crm]] = {
    "hubspot": Vendor(HubSpotSettings, HubSpotClient, HubSpotCrm),
    "salesforce": Vendor(SalesforceSettings, SalesforceClient, SalesforceCrm),
}
ERPS: dict[str, Vendor[Erp]] = {"netsuite": Vendor(NetSuiteSettings, NetSuiteClient, NetSuiteErp)}
BILLINGS: dict[str, Vendor[Billing]] = {"stripe": Vendor(StripeSettings, StripeClient, StripeBilling)}
SUPPORTS: dict[str, Vendor[Support]] = {"zendesk": Vendor(ZendeskSettings, ZendeskClient, ZendeskSupport)}
ADAPTERS: dict[str, dict[str, Any]] = {"crm": CRMS, "erp": ERPS, "billing": BILLINGS, "support": SUPPORTS}


class Adapters(NamedTuple):
    """One adapter per role, in the order `workers.worker.activities_for` takes them."""

    crm: Crm
    erp: Erp
    billing: Billing
    support: Support


def vendor(role: str, name: str) -> Vendor[Any]:
    try:
        return ADAPTERS[role][name]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS.get(role, {}))) or "none"
        raise ValueError(f"Q2C_{role.upper()}={name!r} is not an adapter for {role}; known: {known}") from None


def make_adapter(role: str, name: str, simulators: str | None = None, timeout_s: float | None = None) -> Any:
    """The named adapter for a role, its client configured from `Q2C_<VENDOR>_...` or aimed at simulators."""
    made = vendor(role, name)
    settings = made.settings(base_url=f"{simulators}/{name}") if simulators else made.settings()
    if timeout_s is not None:
        settings.timeout_s = timeout_s
    return made.adapter(made.client(settings))


__all__ = [
    "ADAPTERS",
    "WEBHOOKS",
    "Adapters",
    "Roles",
    "crm_webhooks",
    "make_adapter",
    "open_adapters",
    "open_crms",
    "webhooks_for",
]


@asynccontextmanager
async def open_adapters(
    roles: Roles | None = None, simulators: str | None = None, timeout_s: float | None = None
) -> AsyncIterator[Adapters]:
    """Every role's configured adapter, closed on exit. `simulators` aims them all at a simulator base URL."""
    roles = roles or Roles()
    async with AsyncExitStack() as stack:
        made = [
            await stack.enter_async_context(make_adapter(role, getattr(roles, role), simulators, timeout_s))
            for role in Adapters._fields
        ]
        yield Adapters(*made)


@asynccontextmanager
async def open_crms(
    roles: Roles | None = None,
    simulators: str | None = None,
    timeout_s: float | None = None,
    opened: dict[str, Crm] | None = None,
) -> AsyncIterator[dict[str, Crm]]:
    """Every CRM served (`Q2C_CRMS`), by name, the default first; those in `opened` are reused, not reopened."""
    roles = roles or Roles()
    async with AsyncExitStack() as stack:
        crms = dict(opened or {})
        for name in roles.crm_names():
            if name not in crms:
                crms[name] = await stack.enter_async_context(make_adapter("crm", name, simulators, timeout_s))
        yield {name: crms[name] for name in roles.crm_names()}


# role -> vendor name -> its webhook module (connectors/<vendor>/webhooks.py), for the ingress's routers
WEBHOOKS: dict[str, dict[str, ModuleType]] = {
    "crm": {"hubspot": hubspot_webhooks, "salesforce": salesforce_webhooks},
    "billing": {"stripe": stripe_webhooks},
    "support": {"zendesk": zendesk_webhooks},
}


def webhooks_for(roles: Roles | None = None) -> dict[str, ModuleType]:
    """Role -> the configured vendor's webhook module, for the roles whose vendor sends webhooks."""
    roles = roles or Roles()
    return {role: by_name[name] for role, by_name in WEBHOOKS.items() if (name := getattr(roles, role)) in by_name}


def crm_webhooks(roles: Roles | None = None) -> dict[str, ModuleType]:
    """CRM name -> its webhook module, for every CRM served (`Q2C_CRMS`) that sends webhooks."""
    roles = roles or Roles()
    return {name: WEBHOOKS["crm"][name] for name in roles.crm_names() if name in WEBHOOKS["crm"]}
