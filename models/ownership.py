"""Which system owns each attribute, by object and lifecycle stage: the rules as data."""

from __future__ import annotations

from typing import NamedTuple

from models.common import LifecycleStage, System


class Rule(NamedTuple):
    object: str
    stage: LifecycleStage
    attributes: frozenset[str]
    owner: System


def _rule(obj: str, stage: LifecycleStage, owner: System, *attributes: str) -> Rule:
    return Rule(obj, stage, frozenset(attributes), owner)


P, C = LifecycleStage.PROSPECT, LifecycleStage.CUSTOMER
CRM, ERP, BILLING, SUPPORT = System.CRM, System.ERP, System.BILLING, System.SUPPORT

CUSTOMER_ATTRIBUTES = (
    "legal_name",
    "billing_address",
    "tax_registration",
    "legal_entity",
    "currency",
    "region",
    "credit_limit",
    "payment_terms",
    "contacts",
    "support_contact_preferences",
)

RULES: tuple[Rule, ...] = (
    # A prospect lives in the CRM: sales owns every attribute until the deal closes.
    _rule("customer", P, CRM, *CUSTOMER_ATTRIBUTES),
    # A customer: finance (ERP) owns what invoices and credit depend on ...
    _rule(
        "customer",
        C,
        ERP,
        "billing_address",
        "tax_registration",
        "legal_entity",
        "currency",
        "credit_limit",
        "payment_terms",
        "legal_name",
    ),
    # ... sales keeps the relationship ...
    _rule("customer", C, CRM, "contacts", "region"),
    # ... and support owns how the customer wants to be served.
    _rule("customer", C, SUPPORT, "support_contact_preferences"),
    # Orders are quotes in the CRM while a prospect, ERP documents once a customer.
    _rule("order", P, CRM, "lines", "currency", "total", "status", "order_date"),
    _rule("order", C, ERP, "lines", "currency", "total", "status", "order_date", "number"),
    # One-time invoices are the ERP's; subscription invoices the billing system's.
    _rule("invoice", C, ERP, "erp_invoice", "credit_memo"),
    _rule("invoice", C, BILLING, "subscription_invoice", "payment_status", "payment_method"),
    # Contract terms of an entitlement come from the order; its live status from support.
    _rule("entitlement", C, ERP, "tier", "start", "end"),
    _rule("entitlement", C, SUPPORT, "status", "support_contact_preferences"),
)

_OWNERS: dict[tuple[str, LifecycleStage, str], System] = {}
for _r in RULES:
    for _attribute in _r.attributes:
        key = (_r.object, _r.stage, _attribute)
        if key in _OWNERS:
            raise RuntimeError(f"ownership rule conflict for {key}")
        _OWNERS[key] = _r.owner


class UnknownAttribute(KeyError):
    """No rule covers this attribute: a gap in the table, not a silent 'yes'."""


def owner_of(obj: str, attribute: str, stage: LifecycleStage) -> System:
    try:
        return _OWNERS[(obj, stage, attribute)]
    except KeyError:
        raise UnknownAttribute(f"no ownership rule for {obj}.{attribute} at stage {stage}") from None


def may_write(system: System, obj: str, attribute: str, stage: LifecycleStage) -> bool:
    """May `system` write `attribute` of `obj` at `stage`? Only its owner may."""
    return owner_of(obj, attribute, stage) is system
