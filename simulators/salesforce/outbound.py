"""Outbound Messages: the SOAP `notifications` a workflow rule or flow sends when an opportunity is won, and,
when the org is configured so (`salesforce_outbound_objects` includes `Account`), when an account is saved.

As Salesforce does: one `Notification` per record with the fields the action selected, the org id and
the action id, no signature; the listener must answer a `notificationsResponse` with `<Ack>true</Ack>`,
and Salesforce resends until it does (for up to 24 hours, backing off), sometimes more than once.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any
from xml.sax.saxutils import escape

import httpx
from defusedxml import ElementTree

from simulators.context import SimContext
from simulators.salesforce.ids import make_id

OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
FIELDS = ("Id", "Name", "StageName", "AccountId", "Amount", "CurrencyIsoCode", "CloseDate", "Type", "SystemModstamp")
# the fields an admin selects for q2c's Account message (docs/salesforce.md)
ACCOUNT_FIELDS = (
    "Id",
    "Name",
    "Type",
    "VAT_Number__c",
    "Region__c",
    "CurrencyIsoCode",
    "LastModifiedDate",
    "SystemModstamp",
)
SELECTED = {"Opportunity": FIELDS, "Account": ACCOUNT_FIELDS}


def objects(ctx: SimContext) -> frozenset[str]:
    """The sObjects whose saves send an Outbound Message: won opportunities always, accounts when configured."""
    configured = str(ctx.store.setting("salesforce_outbound_objects", "Opportunity"))
    return frozenset(name.strip() for name in configured.split(",") if name.strip())


def envelope(
    ctx: SimContext, records: list[dict[str, Any]], action_id: str, version: str = "62.0", kind: str = "Opportunity"
) -> bytes:
    """Null fields are left out of the message, as Salesforce leaves them out."""
    org = ctx.settings.salesforce_org_id
    instance = ctx.base_url("salesforce")
    notifications = "".join(
        f"<Notification><Id>{make_id('04l', secrets.randbelow(10**9))}</Id>"
        f'<sObject xsi:type="sf:{kind}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        + "".join(
            f"<sf:{name}>{escape(str(record[name]))}</sf:{name}>"
            for name in SELECTED[kind]
            if record.get(name) is not None
        )
        + "</sObject></Notification>"
        for record in records
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f'<soapenv:Body><notifications xmlns="{OUTBOUND_NS}">'
        f"<OrganizationId>{org}</OrganizationId><ActionId>{action_id}</ActionId>"
        '<SessionId xsi:nil="true"/>'
        f"<EnterpriseUrl>{instance}/services/Soap/c/{version}/{org}</EnterpriseUrl>"
        f"<PartnerUrl>{instance}/services/Soap/u/{version}/{org}</PartnerUrl>"
        f"{notifications}</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


def acknowledged(body: bytes) -> bool:
    """True when the listener's answer is a `notificationsResponse` whose `Ack` is true."""
    try:
        root = ElementTree.fromstring(body)
    except Exception:
        return False
    ack = root.find(f".//{{{OUTBOUND_NS}}}Ack")
    if ack is None:
        ack = root.find(".//Ack")
    return ack is not None and (ack.text or "").strip().lower() == "true"


async def send(ctx: SimContext, record: dict[str, Any], kind: str = "Opportunity") -> bool:
    """Deliver one record's notification (a won opportunity, a saved account), resending until acknowledged."""
    url = ctx.store.setting("salesforce_outbound_url") or ctx.settings.salesforce_outbound_url
    if not url:
        return False
    action_id = make_id("04k", 1 if kind == "Opportunity" else 2)  # one outbound message action per object
    body = envelope(ctx, [record], action_id, kind=kind)
    attempts, backoff = ctx.settings.webhook_attempts, ctx.settings.webhook_backoff_s
    copies = int(ctx.store.setting("salesforce_outbound_copies", 1))
    async with httpx.AsyncClient(timeout=10.0) as client:
        for attempt in range(1, attempts + 1):
            status, error, acked = None, None, False
            try:
                headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
                responses = await asyncio.gather(
                    *(client.post(url, content=body, headers=headers) for _ in range(copies))
                )
                status = responses[0].status_code
                acked = all(r.status_code == 200 and acknowledged(r.content) for r in responses)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            ctx.store.record_delivery("salesforce", record["Id"], url, attempt, status, error if not acked else None)
            if acked:
                return True
            if attempt < attempts:
                await asyncio.sleep(min(backoff * 2 ** (attempt - 1), 60.0))
    return False
