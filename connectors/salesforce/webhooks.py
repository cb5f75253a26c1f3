"""Salesforce's Outbound Messages: a SOAP `notifications` call per batch of up to 100 records, unsigned.

Salesforce signs nothing, so the org id in the envelope is checked against `SalesforceSettings.org_id`;
the XML is parsed with defusedxml and any DTD is refused (no entity expansion, no external entities).
Salesforce resends until the listener answers `notificationsResponse` with `<Ack>true</Ack>`, and may send a
notification more than once: the notification id is the event id consumers dedupe on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from connectors.salesforce.mapping import WON_STAGE
from models.events import DealClosedWonV1
from models.money import Money
from models.notices import CrmNotice

NAME = "salesforce"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SOBJECT_TYPES = frozenset({"Opportunity"})  # what an Outbound Message to q2c may carry
MAX_NOTIFICATIONS = 100  # Salesforce's own limit per message
CONTENT_TYPE = "text/xml; charset=utf-8"


class OutboundMessageRefused(ValueError):
    """An Outbound Message q2c will not take: `status` for the HTTP answer, a message naming what and where."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(parent: Element, name: str, where: str) -> Element:
    found = parent.find(f"{{{OUTBOUND_NS}}}{name}")
    if found is None:
        raise OutboundMessageRefused(400, f"{where}: no {name}")
    return found


def _text(parent: Element, name: str, where: str) -> str:
    value = (_child(parent, name, where).text or "").strip()
    if not value:
        raise OutboundMessageRefused(400, f"{where}.{name}: empty")
    return value


def same_org(sent: str, configured: str) -> bool:
    """Org ids compare on their case-sensitive 15-character form (the 18-character one adds a checksum)."""
    return len(sent) in (15, 18) and len(configured) in (15, 18) and sent[:15] == configured[:15]


def notifications(body: bytes) -> Element:
    """The `notifications` element of a SOAP envelope, parsed with no DTD at all."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as refused:
        raise OutboundMessageRefused(
            400, f"body: XML with a DTD or entities is refused ({type(refused).__name__})"
        ) from None
    except ParseError as error:
        raise OutboundMessageRefused(400, f"body: not well-formed XML ({error})") from None
    if root.tag != f"{{{SOAP_NS}}}Envelope":
        raise OutboundMessageRefused(400, f"body: root is {_local(root.tag)}, not a SOAP 1.1 Envelope")
    found = root.find(f"{{{SOAP_NS}}}Body/{{{OUTBOUND_NS}}}notifications")
    if found is None:
        raise OutboundMessageRefused(400, f"Envelope.Body: no notifications element in {OUTBOUND_NS}")
    return found


def _fields(sobject: Element) -> dict[str, str]:
    return {_local(field.tag): (field.text or "").strip() for field in sobject}


def _amount(fields: dict[str, str], where: str) -> Money | None:
    if not fields.get("Amount") or not fields.get("CurrencyIsoCode"):
        return None
    try:
        return Money(amount=Decimal(fields["Amount"]), currency=fields["CurrencyIsoCode"].upper())
    except (InvalidOperation, ValueError):
        raise OutboundMessageRefused(400, f"{where}.Amount: {fields['Amount']!r} is not an amount") from None


def _occurred(fields: dict[str, str], where: str) -> datetime:
    stamp = fields.get("SystemModstamp")
    if not stamp:
        return datetime.now(UTC)
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        raise OutboundMessageRefused(400, f"{where}.SystemModstamp: {stamp!r} is not a dateTime") from None


def parse(body: bytes, org_id: str) -> CrmNotice:
    """The opportunities a message closes (first notification per opportunity), or OutboundMessageRefused."""
    message = notifications(body)
    sent_org = _text(message, "OrganizationId", "notifications")
    if not same_org(sent_org, org_id):
        raise OutboundMessageRefused(403, f"notifications.OrganizationId: {sent_org} is not the configured org")
    items = message.findall(f"{{{OUTBOUND_NS}}}Notification")
    if not items:
        raise OutboundMessageRefused(400, "notifications: no Notification")
    if len(items) > MAX_NOTIFICATIONS:
        raise OutboundMessageRefused(400, f"notifications: {len(items)} Notification elements, over 100")
    closed: dict[str, DealClosedWonV1] = {}
    for n, item in enumerate(items):
        where = f"Notification[{n}]"
        notification_id = _text(item, "Id", where)
        sobject = _child(item, "sObject", where)
        kind = _local(sobject.get(f"{{{XSI_NS}}}type", ""))  # "sf:Opportunity" -> Opportunity
        kind = kind.split(":", 1)[-1]
        if kind not in SOBJECT_TYPES:
            raise OutboundMessageRefused(422, f"{where}.sObject: type {kind or 'missing'!r} is not one q2c takes")
        fields = _fields(sobject)
        record_id = fields.get("Id", "")
        if not record_id.isalnum() or len(record_id) not in (15, 18):
            raise OutboundMessageRefused(400, f"{where}.sObject.Id: {record_id!r} is not a Salesforce id")
        if fields.get("StageName") != WON_STAGE and fields.get("IsWon") != "true":
            continue  # a rule that also fires on other stages: received, nothing to start
        if record_id not in closed:
            closed[record_id] = DealClosedWonV1(
                event_id=notification_id,
                occurred_at=_occurred(fields, where),
                correlation_id=f"{NAME}-{sent_org}-{notification_id}",
                deal_id=record_id,
                source=NAME,
                amount=_amount(fields, where),
            )
    return CrmNotice(received=len(items), closed=list(closed.values()))


def _envelope(body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_NS}">'
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    ).encode()


def ack() -> bytes:
    """The answer that tells Salesforce to stop resending: every notification in the message is taken."""
    return _envelope(f'<notificationsResponse xmlns="{OUTBOUND_NS}"><Ack>true</Ack></notificationsResponse>')


def fault(message: str, *, client: bool) -> bytes:
    """A SOAP 1.1 fault; Salesforce keeps the message queued and resends it."""
    code = "soapenv:Client" if client else "soapenv:Server"
    return _envelope(
        f"<soapenv:Fault><faultcode>{code}</faultcode><faultstring>{escape(message)}</faultstring></soapenv:Fault>"
    )


def body_schema() -> dict[str, Any]:
    return {"type": "string", "format": "xml", "description": "a SOAP 1.1 `notifications` envelope"}
