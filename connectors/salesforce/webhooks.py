"""Salesforce's Outbound Messages: a SOAP `notifications` call per batch of up to 100 records, unsigned.

An Opportunity's (won) starts its saga; an Account's is a change of the customer's synchronised fields.

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

from connectors.salesforce.mapping import ACCOUNT_ATTRIBUTES, WON_STAGE
from models.common import LifecycleStage, System
from models.customer_sync import LIFECYCLE, CustomerChange
from models.events import DealClosedWonV1
from models.money import Money
from models.notices import CrmNotice

NAME = "salesforce"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SOBJECT_TYPES = frozenset({"Opportunity", "Account"})  # what an Outbound Message to q2c may carry
# the Account's clock, newest first: SystemModstamp moves on every save, LastModifiedDate on a user's
ACCOUNT_CLOCK = ("SystemModstamp", "LastModifiedDate")
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


def _values(sobject: Element) -> dict[str, str | None]:
    """The fields as sent: `xsi:nil` is a blank (None); a field not in the message is not reported at all."""
    return {
        _local(field.tag): None if field.get(f"{{{XSI_NS}}}nil") == "true" else (field.text or "").strip()
        for field in sobject
    }


def _lifecycle(account_type: str | None) -> LifecycleStage | None:
    """Account.Type's standard values: `Prospect`, and `Customer` or `Customer - Direct`/`- Channel`."""
    if account_type == "Prospect":
        return LifecycleStage.PROSPECT
    return LifecycleStage.CUSTOMER if (account_type or "").startswith("Customer") else None


def account_changes(sobject: Element, notification_id: str, org: str, where: str) -> list[CustomerChange]:
    """An Account notification as CustomerSync changes: the current value of each synchronised field it carries.

    Salesforce sends the record as it is when the message goes out (not what changed): one change per
    synchronised field present, on the Account's own clock (SystemModstamp, else LastModifiedDate), so a
    resend is a duplicate and an older message is stale; the lifecycle (from Type) comes first.
    """
    values = _values(sobject)
    clock = next((name for name in ACCOUNT_CLOCK if values.get(name)), None)
    if clock is None:
        raise OutboundMessageRefused(
            422, f"{where}.sObject: an Account message needs SystemModstamp or LastModifiedDate among its fields"
        )
    at = _datetime(values[clock] or "", f"{where}.sObject.{clock}")
    account_id = values.get("Id") or ""
    common = {"customer_id": account_id, "source": System.CRM, "at": at, "crm": NAME}
    correlation = f"{NAME}-{org}-{notification_id}"
    changes: list[CustomerChange] = []
    lifecycle = _lifecycle(values.get("Type"))
    if lifecycle is not None:
        changes.append(
            CustomerChange(
                change_id=f"{NAME}-{notification_id}-{LIFECYCLE}",
                attribute=LIFECYCLE,
                value=lifecycle.value,
                lifecycle=lifecycle,
                correlation_id=correlation,
                **common,
            )
        )
    for attribute, field in ACCOUNT_ATTRIBUTES.items():
        if field in values:
            changes.append(
                CustomerChange(
                    change_id=f"{NAME}-{notification_id}-{attribute}",
                    attribute=attribute,
                    value=values[field],
                    correlation_id=correlation,
                    **common,
                )
            )
    return changes


def _amount(fields: dict[str, str], where: str) -> Money | None:
    if not fields.get("Amount") or not fields.get("CurrencyIsoCode"):
        return None
    try:
        return Money(amount=Decimal(fields["Amount"]), currency=fields["CurrencyIsoCode"].upper())
    except (InvalidOperation, ValueError):
        raise OutboundMessageRefused(400, f"{where}.Amount: {fields['Amount']!r} is not an amount") from None


def _occurred(fields: dict[str, str], where: str) -> datetime:
    stamp = fields.get("SystemModstamp")
    return _datetime(stamp, f"{where}.SystemModstamp") if stamp else datetime.now(UTC)


def _datetime(stamp: str, where: str) -> datetime:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        raise OutboundMessageRefused(400, f"{where}: {stamp!r} is not a dateTime") from None


def parse(body: bytes, org_id: str) -> CrmNotice:
    """The opportunities a message closes (first notification per opportunity) and its accounts' changes, or
    OutboundMessageRefused."""
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
    changes: list[CustomerChange] = []
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
        if kind == "Account":
            changes += account_changes(sobject, notification_id, sent_org, where)
            continue
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
    return CrmNotice(received=len(items), closed=list(closed.values()), changes=changes)


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
