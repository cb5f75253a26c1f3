"""The Stripe simulator: one router per resource behind Stripe's gate (auth, form bodies, versions, idempotency)."""

from __future__ import annotations

from fastapi import FastAPI

from simulators.context import SimContext
from simulators.store import Record
from simulators.stripe import (
    amendments,
    cancellations,
    catalog,
    credit_notes,
    customers,
    gate,
    invoiceitems,
    invoices,
    schedules,
    subscriptions,
)
from simulators.stripe.core import API_VERSION, Stripe, StripeError, error
from simulators.stripe.events import emit
from simulators.stripe_spec import find_spec, load_spec

__all__ = ["API_VERSION", "StripeError", "create_app", "error"]


def create_app(ctx: SimContext) -> FastAPI:
    app = FastAPI(title="Stripe simulator", openapi_url=None, docs_url=None, redoc_url=None)
    spec_path = find_spec(ctx.settings.stripe_spec)
    st = Stripe(ctx, load_spec(str(spec_path)) if spec_path else None)
    gate.install(app, ctx)
    for module in (customers, catalog, subscriptions, invoices, invoiceitems, credit_notes):
        app.include_router(module.router(st))
    for module in (amendments, schedules, cancellations):
        app.include_router(module.router(st))

    def emit_event(event_type: str, record: Record) -> Record:
        return emit(st, event_type, record)

    app.state.spec_path = spec_path
    app.state.stripe = st
    app.state.emit = emit_event
    app.state.new = st.new
    return app
