"""The demo's story: which deal plays which part, the faults that make it happen, and the people in it
(the operator who decides, the customer who pays)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from client.sagas import SagaClient, SagaRef
from connectors.registry import make_adapter
from connectors.roles import Roles
from models.common import Region
from models.saga import EntitlementGate, SagaPolicy, SagaStatus, Stage
from simulators.hubspot import drive as hubspot_sim
from simulators.netsuite import drive as erp_sim
from simulators.salesforce import drive as salesforce_sim
from simulators.store import Store
from simulators.stripe import drive as billing_sim

# Each CRM's simulator driver; the configured CRM's seeded deals play the parts (`Q2C_CRM`), and with
# `Q2C_CRMS` every CRM's do.
DRIVERS: dict[str, Any] = {driver.NAME: driver for driver in (hubspot_sim, salesforce_sim)}
crm_sim = DRIVERS[Roles().crm]
CRM = crm_sim.NAME
OPERATOR, CFO = "ops@q2c.example", "cfo@q2c.example"
FINISHED = (Stage.COMPLETED, Stage.COMPENSATED, Stage.CANCELLED, Stage.FAILED)

# The demo's regional policy: EMEA needs a tax registration before any write; the UK entitles on payment.
DEMO_POLICIES = {
    Region.EMEA: SagaPolicy(required_tax_fields=["tax_registration"]),
    Region.UK: SagaPolicy(
        entitlement_gate=EntitlementGate.ON_PAYMENT,
        payment_deadline=timedelta(days=7),
        payment_poll_interval=timedelta(seconds=1),
    ),
}


@dataclass
class Scenario:
    name: str
    deal_id: str
    expected: Stage
    status: SagaStatus | None = None
    seconds: float | None = None
    problems: list[str] = field(default_factory=list)
    decided: bool = False
    crm: str = CRM  # the CRM holding the deal

    @property
    def ref(self) -> SagaRef:
        return SagaRef(self.crm, self.deal_id)

    @property
    def workflow_id(self) -> str:
        return self.ref.workflow_id

    @property
    def finished(self) -> bool:
        return self.status is not None and self.status.stage in FINISHED


def plan(store: Store, manifest: dict[str, Any], crm: str = CRM) -> list[Scenario]:
    """Which deal plays which part; one-time lines are needed where the demo cancels mid-invoicing."""
    driver = DRIVERS[crm]
    deals = driver.deals(manifest)
    ordinary = list(deals["ordinary"])
    with_services = [d for d in ordinary if driver.has_one_time_lines(store, d)]
    cancels = with_services[:2]
    rest = [d for d in ordinary if d not in cancels]
    parts = [("happy path", d, Stage.COMPLETED) for d in rest[:18]]
    parts.append(("happy path (existing ERP customer)", deals["existing"][0], Stage.COMPLETED))
    parts += [("credit hold approved", d, Stage.COMPLETED) for d in deals["over_credit"][:2]]
    parts += [("credit hold rejected", d, Stage.FAILED) for d in deals["over_credit"][2:4]]
    parts += [("billing refuses after the order", d, Stage.COMPENSATED) for d in rest[18:20]]
    parts += [("cancelled by an operator", d, Stage.CANCELLED) for d in cancels]
    parts.append(("no tax registration: parked, fixed, retried", deals["no_tax"][0], Stage.COMPLETED))
    return [Scenario(name, deal_id, expected, crm=crm) for name, deal_id, expected in parts]


# With two CRMs, the parts are shared out; the second CRM's sagas that complete are of other companies.
FIRST_PARTS = {
    "happy path": 9,
    "happy path (existing ERP customer)": 1,
    "credit hold approved": 2,
    "billing refuses after the order": 1,
    "cancelled by an operator": 1,
    "no tax registration: parked, fixed, retried": 1,
}
SECOND_PARTS = {
    "happy path": 9,
    "credit hold rejected": 2,
    "billing refuses after the order": 1,
    "cancelled by an operator": 1,
}


def plan_side_by_side(store: Store, manifest: dict[str, Any], crms: tuple[str, str]) -> list[Scenario]:
    """Two CRMs at once, as after an acquisition: every customer in one CRM only.

    The seeds are parallel (the same companies in the same order in each CRM), so the second CRM takes its
    ordinary deals from the back; its story companies play only parts that stop before anything is
    provisioned (a rejected credit hold), since support names organizations uniquely.
    """
    first, second = crms
    ours = _first_of_each(plan(store, manifest, first), FIRST_PARTS)
    return ours + _first_of_each(plan(store, _reversed_ordinary(manifest, second), second), SECOND_PARTS)


def _first_of_each(scenarios: list[Scenario], counts: dict[str, int]) -> list[Scenario]:
    left, chosen = dict(counts), []
    for s in scenarios:
        if left.get(s.name, 0) > 0:
            left[s.name] -= 1
            chosen.append(s)
    return chosen


def _reversed_ordinary(manifest: dict[str, Any], crm: str) -> dict[str, Any]:
    """The manifest with `crm`'s ordinary deals in reverse order."""
    deals = DRIVERS[crm].deals(manifest)
    flipped = {**deals, "ordinary": list(reversed(deals["ordinary"]))}
    if crm == hubspot_sim.NAME:  # HubSpot's stories are the manifest's top level
        return {**manifest, "deals": flipped}
    return {**manifest, crm: {**manifest[crm], "deals": flipped}}


async def set_the_stage(admin: httpx.AsyncClient, scenarios: list[Scenario]) -> None:
    """Faults in the simulators for the sagas that must compensate or be cancelled mid-invoicing."""
    for s in scenarios:
        if s.expected is Stage.COMPENSATED:
            archived = "No such price: the price was archived in Stripe"
            await admin.post("/faults", json=billing_sim.refuse_subscriptions(f"{s.workflow_id}&", archived))
        if s.expected is Stage.CANCELLED:
            # long enough for the operator's poll of every saga to see it invoicing on a busy machine, and
            # under the ERP connector's 10 s timeout
            await admin.post("/faults", json=erp_sim.slow_invoicing(f"{s.workflow_id}:invoice_erp", 6000))


async def play_the_people(s: Scenario, sagas: SagaClient, sim: httpx.AsyncClient) -> None:
    """What the operator (or the paying customer) does once a saga reaches their part of the story."""
    assert s.status is not None
    if s.status.stage is Stage.NEEDS_ATTENTION and s.status.exception and s.status.customer_id:
        # The operator adds the missing VAT number in the CRM, then retries the parked step.
        async with make_adapter("crm", s.crm, simulators=str(sim.base_url).rstrip("/")) as crm:
            await crm.write_company_attribute(s.status.customer_id, "tax_registration", "DE811907980")
        await sagas.retry(s.ref, by=OPERATOR, reason="added the VAT number in the CRM")
        s.decided = True
        return
    if s.status.stage is Stage.AWAITING_PAYMENT:
        # The customer pays: Stripe sends invoice.paid to the ingress; the ERP payment is found by polling.
        roles = Roles()
        for invoice_id, invoice in s.status.invoices.items():
            system = roles.billing if invoice.system == "billing" else roles.erp
            await sim.post(f"/_sim/{system}/invoices/{invoice_id}/pay")
        s.decided = True
        return
    if s.status.stage is Stage.ON_HOLD and s.name == "credit hold approved":
        await sagas.approve_credit(s.ref, approver=CFO, reason="strategic")
        s.decided = True
    elif s.status.stage is Stage.ON_HOLD and s.name == "credit hold rejected":
        await sagas.reject_credit(s.ref, approver=CFO, reason="over exposure")
        s.decided = True
    elif s.expected is Stage.CANCELLED and s.status.step("invoice_erp") is not None:
        await sagas.cancel(s.ref, by=OPERATOR, reason="customer withdrew")
        s.decided = True
