"""The contract sagas' steps as declarations, each with its undo beside it. Step names are public (status,
idempotency keys `<workflow id>:<step>`, kept histories): never rename one."""

from __future__ import annotations

from temporalio import workflow

from workflows.kit import Retry, Step

with workflow.unsafe.imports_passed_through():
    from activities.billing import BillingActivities
    from activities.contract import ContractActivities
    from activities.crm import CrmActivities
    from activities.erp import ErpActivities
    from activities.support import SupportActivities

ERP = "erp"
UNDO = Retry.UNDO
FIXABLE = {"UNKNOWN_PRODUCT": "missing_erp_mapping", "SchemaDrift": "schema_drift"}

RESOLVE_PRODUCTS = Step("resolve_products", ErpActivities.resolve_products, queue=ERP, local=True)
RESOLVE_PRICES = Step("resolve_prices", BillingActivities.resolve_prices, local=True)
READ_SUBSCRIPTION = Step("read_subscription", ContractActivities.read_subscription, local=True)
# billing: items to their new quantities, prorated [back to what they were, at the same instant: the proration credited]
CHANGE_ITEMS = Step("change_items", ContractActivities.change_items, external_id=lambda o: o.changed.invoice_id or "")
REVERT_ITEMS = Step(
    "revert_items",
    ContractActivities.change_items,
    retry=UNDO,
    action="items back to what they were, proration credited",
)
# ERP: the change order [cancelled]; its one-time lines invoiced [credit memo]
CHANGE_ORDER = Step("change_order", ContractActivities.create_change_order, queue=ERP, external_id=lambda o: o.order_id)
CANCEL_CHANGE_ORDER = Step(
    "cancel_change_order",
    ErpActivities.close_sales_order,
    queue=ERP,
    retry=UNDO,
    action="cancel the change order (or the return order)",
)
INVOICE_CHANGE = Step("invoice_change", ErpActivities.invoice_order, queue=ERP, external_id=lambda o: o.invoice.id)
CREDIT_CHANGE = Step(
    "credit_change_invoice", ErpActivities.credit_invoice, queue=ERP, retry=UNDO, action="credit-memo the invoice"
)
# support: the tier and dates [back to what they were]
UPDATE_SUPPORT = Step("update_support", SupportActivities.update_organization)
RESTORE_SUPPORT = Step(
    "restore_support", SupportActivities.update_organization, retry=UNDO, action="support tier and dates restored"
)
# the deal told how it went
MILESTONE = Step("milestone_completed", CrmActivities.update_deal, local=True, skippable=True)
NOTE_OUTCOME = Step("note_outcome", CrmActivities.update_deal, retry=UNDO)
# renewals and endings
RENEWAL_ORDER = Step(
    "renewal_order", ContractActivities.create_change_order, queue=ERP, external_id=lambda o: o.order_id
)
RENEWAL_PRICES = Step("renewal_prices", ContractActivities.schedule_renewal_prices, external_id=lambda o: o.schedule_id)
END_AT_PERIOD_END = Step("end_at_period_end", ContractActivities.end_at_period_end)
END_SERVICE = Step("end_service", SupportActivities.update_organization)
CANCEL_NOW = Step("cancel_subscription", BillingActivities.cancel_subscription)
# a cancellation now with the region's refund: billing credits the unused time, the ERP records the same credit
CANCEL_WITH_CREDIT = Step("cancel_with_credit", ContractActivities.cancel_now)
CREDIT_ORDER = Step("credit_order", ContractActivities.create_change_order, queue=ERP, external_id=lambda o: o.order_id)
