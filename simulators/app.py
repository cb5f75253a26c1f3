"""All four simulators on one port, behind fault injection, with the `/_sim` admin API."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from simulators import hubspot, netsuite, salesforce, stripe, zendesk
from simulators.context import SimContext, SimulatorSettings
from simulators.faults import Fault, FaultMiddleware
from simulators.salesforce.seed import seed as salesforce_seed
from simulators.seed import erp_customer, seed
from simulators.store import Record, Store

SYSTEMS = ("hubspot", "netsuite", "stripe", "zendesk", "salesforce")


class WebhookTarget(BaseModel):
    url: str | None
    secret: str | None = None
    copies: int = Field(default=1, ge=1, le=10, description="deliver each event this many times at once")


def create_app(settings: SimulatorSettings | None = None, store: Store | None = None) -> FastAPI:
    settings = settings or SimulatorSettings()
    ctx = SimContext(settings=settings, store=store or Store(settings.db), rng=random.Random(settings.random_seed))
    app = FastAPI(title="q2c vendor simulators", version="1")
    apps = {
        "hubspot": hubspot.create_app(ctx),
        "netsuite": netsuite.create_app(ctx),
        "stripe": stripe.create_app(ctx),
        "zendesk": zendesk.create_app(ctx),
        "salesforce": salesforce.create_app(ctx),
    }
    app.state.ctx, app.state.apps, app.state.manifest = ctx, apps, {}

    def reseed() -> dict[str, Any]:
        app.state.manifest = seed(ctx.store, apps["hubspot"], apps["stripe"])
        app.state.manifest["salesforce"] = salesforce_seed(
            apps["salesforce"].state.records, lambda account, company: erp_customer(ctx.store, account, company)
        )
        ctx.store.set_setting("manifest", app.state.manifest)
        return dict(app.state.manifest)

    if settings.seed and ctx.store.count("hubspot", "deals") == 0:
        reseed()
    else:
        app.state.manifest = ctx.store.setting("manifest", {})

    admin = FastAPI(title="simulator admin")

    @admin.get("/health")
    async def health() -> Record:
        return {"status": "ok", "systems": list(SYSTEMS), "stripe_spec": str(apps["stripe"].state.spec_path)}

    @admin.post("/reset")
    async def reset(reseed_data: bool = True) -> Record:
        ctx.store.reset()
        return {"reset": True, "manifest": reseed() if reseed_data else {}}

    @admin.post("/seed")
    async def seed_more() -> Record:
        return reseed()

    @admin.get("/manifest")
    async def manifest() -> Record:
        return dict(app.state.manifest)

    @admin.get("/{system}/records/{kind}")
    async def records(system: str, kind: str) -> Record:
        if system not in SYSTEMS:
            raise HTTPException(404, f"unknown system {system!r}; one of {', '.join(SYSTEMS)}")
        found = ctx.store.all(system, kind)
        return {"system": system, "kind": kind, "count": len(found), "records": found}

    @admin.get("/requests")
    async def requests(system: str | None = None) -> Record:
        """Counts per endpoint, and every retry that came before the Retry-After it was given."""
        return {"requests": ctx.store.request_counts(system), "early_retries": ctx.early_retries}

    @admin.post("/faults", status_code=201)
    async def add_fault(fault: Fault) -> Record:
        return {"id": ctx.store.add_fault(fault.model_dump(exclude_none=True)), **fault.model_dump()}

    @admin.get("/faults")
    async def faults() -> Record:
        return {"faults": ctx.store.faults()}

    @admin.delete("/faults")
    async def clear_faults() -> Record:
        ctx.store.clear_faults()
        return {"faults": []}

    @admin.delete("/faults/{fault_id}")
    async def clear_fault(fault_id: int) -> Record:
        ctx.store.clear_faults(fault_id)
        return {"deleted": fault_id}

    @admin.put("/webhooks/salesforce")
    async def outbound_target(target: WebhookTarget) -> Record:
        """Where the Outbound Message for a won opportunity goes (Salesforce signs nothing: no secret)."""
        ctx.store.set_setting("salesforce_outbound_url", target.url)
        ctx.store.set_setting("salesforce_outbound_copies", target.copies)
        return {"system": "salesforce", "url": target.url}

    @admin.post("/salesforce/opportunities/{opportunity_id}/close")
    async def close_opportunity(opportunity_id: str) -> Record:
        """Move an opportunity to Closed Won, as a sales rep would; its Outbound Message then goes out."""
        try:
            won = apps["salesforce"].state.records.update("Opportunity", opportunity_id, {"StageName": "Closed Won"})
        except salesforce.SalesforceError as exc:
            raise HTTPException(exc.status, exc.message) from None
        return {"id": won["Id"], "StageName": won["StageName"], "IsWon": won["IsWon"]}

    @admin.put("/webhooks/{system}")
    async def webhook_target(system: str, target: WebhookTarget) -> Record:
        if system not in ("hubspot", "stripe", "zendesk"):
            raise HTTPException(404, "webhooks are delivered by hubspot, stripe, zendesk and salesforce")
        ctx.store.set_setting(f"{system}_webhook_url", target.url)
        ctx.store.set_setting(f"{system}_webhook_copies", target.copies)
        if target.secret:
            ctx.store.set_setting(f"{system}_{'app' if system == 'hubspot' else 'webhook'}_secret", target.secret)
        return {"system": system, "url": target.url}

    @admin.get("/webhooks/deliveries")
    async def deliveries(system: str | None = None) -> Record:
        return {"deliveries": ctx.store.deliveries(system)}

    @admin.post("/hubspot/deals/{deal_id}/close")
    async def close_deal(deal_id: str) -> Record:
        """Move a deal to closedwon, as a sales rep would; HubSpot then sends its webhook."""
        hs = apps["hubspot"].state
        try:
            deal = hs.update("deals", hs.load("deals", deal_id), {"dealstage": "closedwon"})
        except hubspot.HubSpotError as exc:
            raise HTTPException(exc.status, exc.message) from None
        return {"id": deal["id"], "dealstage": deal["properties"]["dealstage"]}

    @admin.post("/stripe/invoices/{invoice_id}/{outcome}")
    async def settle(invoice_id: str, outcome: str) -> Record:
        """A customer pays (or fails to pay) a Stripe invoice; Stripe then sends its webhook."""
        invoice = ctx.store.get("stripe", "invoice", invoice_id)
        if invoice is None or outcome not in ("pay", "fail_payment"):
            raise HTTPException(404, "no such invoice or outcome (pay, fail_payment)")
        if outcome == "pay":
            if invoice["status"] != "open":
                raise HTTPException(400, f"invoice is {invoice['status']}, not open")
            invoice.update({"status": "paid", "amount_paid": invoice["amount_due"], "amount_remaining": 0})
            ctx.store.put("stripe", "invoice", invoice_id, invoice)
        apps["stripe"].state.emit("invoice.paid" if outcome == "pay" else "invoice.payment_failed", invoice)
        return invoice

    @admin.post("/netsuite/invoices/{invoice_id}/pay")
    async def pay_erp_invoice(invoice_id: str) -> Record:
        """A customer payment applied to an ERP invoice; NetSuite sends nothing, q2c polls."""
        invoice = ctx.store.get("netsuite", "invoice", invoice_id)
        if invoice is None:
            raise HTTPException(404, "no such invoice")
        if invoice["status"]["id"] != "A":
            raise HTTPException(400, f"invoice is {invoice['status']['refName']}, not Open")
        customer = ctx.store.get("netsuite", "customer", str(invoice["entity"]["id"]))
        if customer is not None:
            customer["balance"] = float(Decimal(str(customer["balance"])) - Decimal(invoice["amountRemaining"]))
            ctx.store.put("netsuite", "customer", str(customer["id"]), customer)
        invoice.update(
            {
                "amountRemaining": "0.00",
                "amountPaid": invoice["total"],
                "status": {"id": "B", "refName": "Paid In Full"},
            }
        )
        return ctx.store.put("netsuite", "invoice", invoice_id, invoice)

    app.mount("/_sim", admin)
    for name, sub in apps.items():
        app.mount(f"/{name}", sub)
    app.add_middleware(
        FaultMiddleware,
        ctx=ctx,
        renderers={
            "hubspot": hubspot.error,
            "netsuite": netsuite.error,
            "stripe": stripe.error,
            "zendesk": zendesk.error,
            "salesforce": salesforce.error,
        },
    )
    app.add_middleware(netsuite.ConcurrencyLimit, ctx=ctx)
    return app
