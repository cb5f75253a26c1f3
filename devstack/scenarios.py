"""The demo's story: which deal plays which part, the faults that make it happen, and the people in it
(the operator who decides, the customer who pays)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from client.sagas import SagaClient, SagaRef
from models.common import Region
from models.saga import EntitlementGate, SagaPolicy, SagaStatus, Stage
from simulators.store import Store

CRM = "hubspot"
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

    @property
    def ref(self) -> SagaRef:
        return SagaRef(CRM, self.deal_id)

    @property
    def workflow_id(self) -> str:
        return self.ref.workflow_id

    @property
    def finished(self) -> bool:
        return self.status is not None and self.status.stage in FINISHED


def plan(store: Store, manifest: dict[str, Any]) -> list[Scenario]:
    """Which deal plays which part; one-time lines are needed where the demo cancels mid-invoicing."""
    deals = manifest["deals"]

    def one_time(deal_id: str) -> bool:
        lines = store.require("hubspot", "deals", deal_id)["associations"]["line_items"]
        return any(
            not store.require("hubspot", "line_items", i)["properties"].get("recurringbillingfrequency") for i in lines
        )

    ordinary = list(deals["ordinary"])
    with_services = [d for d in ordinary if one_time(d)]
    cancels = with_services[:2]
    rest = [d for d in ordinary if d not in cancels]
    scenarios = [Scenario("happy path", d, Stage.COMPLETED) for d in rest[:18]]
    scenarios.append(Scenario("happy path (existing ERP customer)", deals["existing"][0], Stage.COMPLETED))
    scenarios += [Scenario("credit hold approved", d, Stage.COMPLETED) for d in deals["over_credit"][:2]]
    scenarios += [Scenario("credit hold rejected", d, Stage.FAILED) for d in deals["over_credit"][2:4]]
    scenarios += [Scenario("billing refuses after the order", d, Stage.COMPENSATED) for d in rest[18:20]]
    scenarios += [Scenario("cancelled by an operator", d, Stage.CANCELLED) for d in cancels]
    scenarios.append(Scenario("no tax registration: parked, fixed, retried", deals["no_tax"][0], Stage.COMPLETED))
    return scenarios


async def set_the_stage(admin: httpx.AsyncClient, scenarios: list[Scenario]) -> None:
    """Faults in the simulators for the sagas that must compensate or be cancelled mid-invoicing."""
    for s in scenarios:
        if s.expected is Stage.COMPENSATED:
            await admin.post(
                "/faults",
                json={
                    "system": "stripe",
                    "kind": "business",
                    "method": "POST",
                    "path": "/v1/subscriptions",
                    "match": f"{s.workflow_id}&",
                    "code": "resource_missing",
                    "message": "No such price: the price was archived in Stripe",
                },
            )
        if s.expected is Stage.CANCELLED:
            await admin.post(
                "/faults",
                json={
                    "system": "netsuite",
                    "kind": "latency",
                    "method": "POST",
                    "path": "*/!transform/invoice",
                    "match": f"{s.workflow_id}:invoice_erp",
                    "latency_ms": 3000,
                },
            )


async def play_the_people(s: Scenario, sagas: SagaClient, sim: httpx.AsyncClient) -> None:
    """What the operator (or the paying customer) does once a saga reaches their part of the story."""
    assert s.status is not None
    if s.status.stage is Stage.NEEDS_ATTENTION and s.status.exception and s.status.customer_id:
        # The operator adds the missing VAT number in the CRM, then retries the parked step.
        await sim.patch(
            f"/hubspot/crm/v3/objects/companies/{s.status.customer_id}",
            json={"properties": {"vat_number": "DE811907980"}},
            headers={"Authorization": "Bearer pat-na1-q2c-dev"},
        )
        await sagas.retry(s.ref, by=OPERATOR, reason="added the VAT number in the CRM")
        s.decided = True
        return
    if s.status.stage is Stage.AWAITING_PAYMENT:
        # The customer pays: Stripe sends invoice.paid to the ingress; the ERP payment is found by polling.
        for invoice_id, invoice in s.status.invoices.items():
            system = "stripe" if invoice.system == "billing" else "netsuite"
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
