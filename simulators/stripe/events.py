"""Events: recorded, then sent to the webhook target signed the way `stripe.Webhook.construct_event` checks."""

from __future__ import annotations

import json
import time

from connectors.stripe import webhooks as stripe_webhooks
from simulators.store import Record
from simulators.stripe.core import API_VERSION, SYSTEM, Stripe
from simulators.webhooks import deliver


def emit(st: Stripe, event_type: str, record: Record) -> Record:
    """The event carries the object as the account's API version renders it, like Stripe's snapshot events."""
    ctx = st.ctx
    event = st.new(
        "event",
        {
            "type": event_type,
            "api_version": API_VERSION,
            "data": {"object": st.render(record, API_VERSION)},
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
        },
    )
    url = st.store.setting("stripe_webhook_url", ctx.settings.stripe_webhook_url)
    if not url:
        return event
    secret = st.store.setting("stripe_webhook_secret", ctx.settings.stripe_webhook_secret)
    body = json.dumps(event).encode()

    async def send() -> None:
        await deliver(
            ctx,
            SYSTEM,
            event["id"],
            url,
            body,
            lambda payload: {"Stripe-Signature": stripe_webhooks.sign(secret, payload, int(time.time()))},
        )

    ctx.background(send)
    return event
