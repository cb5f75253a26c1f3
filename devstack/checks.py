"""What the demo checks after its sagas end, each against the systems themselves rather than the saga's word:
the vendors' records, a late payment, reconciliation, the trace, the metrics and the history at rest."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import httpx
from opentelemetry import trace

from client.operations import reconcile_now, report_table
from client.sagas import SagaClient
from connectors.registry import make_adapter, open_adapters
from devstack.audit import audit_at
from devstack.scenarios import CRM, Scenario
from devstack.stack import Stack
from models.party import Customer
from models.reconcile import Drift, ReconcileInput
from models.saga import TASK_QUEUE, Stage
from simulators.stripe import drive as billing_sim

BUSINESS_LABELS = {"outcome", "reason", "decision", "milestone", "system", "error_class"}


def verify(stack: Stack, scenarios: list[Scenario]) -> None:
    """Each outcome against the vendors' own records, noted on its scenario."""
    problems: dict[str, list[str]] = {"*": []}
    for crm in dict.fromkeys(s.crm for s in scenarios):  # each CRM's deals through its own adapter
        expected = {s.deal_id: s.expected for s in scenarios if s.crm == crm}
        found = audit_at(stack.simulators_url, expected, stack.roles.model_copy(update={"crm": crm}))
        problems = {**found, **problems, "*": problems["*"] + found["*"]}
    for s in scenarios:
        if s.status is None:
            s.problems.append("no saga")
        elif s.status.stage is not s.expected:
            s.problems.append(f"ended {s.status.stage.value}, expected {s.expected.value}")
        s.problems += problems[s.deal_id]
    if problems["*"]:
        scenarios[0].problems += problems["*"]


async def late_payment(stack: Stack, scenarios: list[Scenario]) -> tuple[str, list[str]]:
    """A payment after its saga ended: Stripe's webhook still reaches the deal and the support organization."""
    done = next(  # of the default CRM: a billing event after its saga reaches the default CRM only
        (
            s
            for s in scenarios
            if s.crm == stack.roles.crm
            and s.expected is Stage.COMPLETED
            and s.status
            and s.status.stage is Stage.COMPLETED
            and s.status.payment == "not_invoiced"
        ),
        None,
    )
    if done is None or done.status is None:
        return "", [f"no completed {stack.roles.crm} saga with an unpaid billing invoice to pay late"]
    invoice_id = next(i for i, state in done.status.invoices.items() if state.system == "billing")
    async with (
        httpx.AsyncClient(base_url=stack.simulators_url) as sim,
        open_adapters(stack.roles, simulators=stack.simulators_url) as ports,
    ):
        await sim.post(f"/_sim/{ports.billing.name}/invoices/{invoice_id}/pay")
        for _ in range(100):
            if (await ports.crm.deal_state(done.deal_id)).milestones.payment == "paid":
                return (
                    f"late payment: invoice {invoice_id} paid after {done.workflow_id} completed; the billing "
                    "system's webhook reached the deal (payment paid) through a LateBillingEvent run"
                ), []
            await asyncio.sleep(0.2)
    return "", [f"the late payment of {invoice_id} never reached deal {done.deal_id}"]


async def reconcile_twice(stack: Stack, scenarios: list[Scenario]) -> tuple[list[str], list[str]]:
    """Reconciliation after the run is clean; after a change behind q2c's back it names the drift."""
    assert stack.client is not None
    job = ReconcileInput(since=date(2000, 1, 1), until=date(2100, 1, 1), task_queue=TASK_QUEUE)
    first = await reconcile_now(stack.client, job, TASK_QUEUE)
    shown = [report_table(first)]
    problems = [] if first.clean else ["reconciliation found drift after the demo run"]
    victim = next(s for s in scenarios if s.expected is Stage.COMPLETED and "happy" in s.name)
    subscription = billing_sim.add_seats(stack.store, victim.workflow_id, 5)
    shown.append(f"someone adds 5 seats to {subscription} in the billing system's dashboard, behind q2c's back")
    second = await reconcile_now(stack.client, job, TASK_QUEUE)
    shown.append(report_table(second))
    if not any(i.kind is Drift.AMOUNT_MISMATCH and i.deal_id == victim.deal_id for i in second.items):
        problems.append("reconciliation did not name the changed subscription")
    return shown, problems


async def observe(stack: Stack, sagas: SagaClient, scenarios: list[Scenario]) -> tuple[list[str], list[str]]:
    """What an operator's tools see: one saga's trace, the business metrics, ciphertext at rest."""
    shown: list[str] = []
    problems: list[str] = []
    happy = next(s for s in scenarios if s.expected is Stage.COMPLETED and s.status is not None)
    trace.get_tracer_provider().force_flush()  # type: ignore[attr-defined]
    spans = [json.loads(line) for line in (stack.home / "traces.jsonl").read_text().splitlines()]
    start = next((x for x in spans if x["attributes"].get("temporalWorkflowID") == happy.workflow_id), None)
    if start is None:
        problems.append(f"no trace for {happy.workflow_id}")
    else:
        mine = [x for x in spans if x["trace_id"] == start["trace_id"]]
        urls = [str(x["attributes"].get("url.full") or x["attributes"].get("http.url") or "") for x in mine]
        calls = [u.removeprefix(stack.simulators_url) for u in urls if u.startswith(stack.simulators_url)]
        calls = [call for call in calls if not call.startswith("/_sim")]  # the demo closing the deal
        systems = sorted({call.split("/")[1] for call in calls})
        activities = [x for x in mine if x["name"].startswith("RunActivity:")]
        webhook = any(x["name"] == f"POST /webhooks/{happy.crm}" and x["kind"] == "SERVER" for x in mine)
        shown.append(
            f"\ntrace {start['trace_id']} ({happy.workflow_id}): webhook {'yes' if webhook else 'MISSING'}, "
            f"{len(activities)} activities, {len(calls)} vendor calls to {', '.join(systems)}"
        )
        if not webhook or len(systems) < 4:
            problems.append("the trace does not reach from the webhook to every system")
    kpis = await business_metrics(stack.metrics_url)
    shown.append(f"business metrics on {stack.metrics_url}:")
    shown += [f"  {key} {total:g}" for key, total in kpis.items()]
    if not any(key.startswith("q2c_sagas_finished_total") for key in kpis):
        problems.append("the metrics endpoint serves no business metrics")
    raw = b"".join(e.SerializeToString() for e in (await sagas.handle(happy.ref).fetch_history()).events)
    assert happy.status is not None and happy.status.customer_id is not None
    personal = personal_data(await company(stack, happy.deal_id, happy.crm))
    if not personal:
        problems.append(f"the company of {happy.deal_id} holds no email, address or tax id to look for")
    exposed = [value for value in personal if value.encode() in raw]
    at_rest = f"PLAIN TEXT: {', '.join(exposed)}" if exposed else "no email, address or tax id in plain text"
    shown.append(f"history of {happy.workflow_id} at rest: {at_rest}")
    if exposed:
        problems.append("customer data in plain text in the history")
    return shown, problems


async def company(stack: Stack, deal_id: str, crm: str = CRM) -> Customer:
    """The deal's company as its CRM holds it, read through the CRM port."""
    async with make_adapter("crm", crm, simulators=stack.simulators_url) as port:
        found = (await port.get_deal(deal_id)).company
    assert found is not None, f"deal {deal_id} has no company"
    return found


def personal_data(customer: Customer) -> list[str]:
    """A customer's email addresses, street address and tax id: what must not sit in a history in plain text."""
    found = [contact.email for contact in customer.contacts]
    if customer.billing_address:
        found.append(customer.billing_address.line1)
    if customer.tax_registration:
        found.append(customer.tax_registration.number)
    return [value for value in found if value]


async def business_metrics(url: str) -> dict[str, float]:
    """q2c's KPIs from the worker's Prometheus endpoint, summed over all but the business labels."""
    async with httpx.AsyncClient() as web:
        metrics = (await web.get(url)).text
    kpis: dict[str, float] = {}
    for line in metrics.splitlines():
        if line.startswith("q2c_") and "_bucket" not in line:
            name, value = line.rsplit(" ", 1)
            labels = [p for p in name.split("{", 1)[-1].rstrip("}").split(",") if p.split("=")[0] in BUSINESS_LABELS]
            key = f"{name.split('{')[0]}{{{','.join(labels)}}}"
            kpis[key] = kpis.get(key, 0.0) + float(value)
    return kpis
