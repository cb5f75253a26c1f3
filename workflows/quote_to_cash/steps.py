"""QuoteToCash's steps as declarations: each activity with where it runs and how, its undo beside it.

The step names are public (the `status` query, idempotency keys `<workflow id>:<step>`, kept histories):
never rename one.
"""

from __future__ import annotations

from temporalio import workflow

from workflows import patches
from workflows.kit import Retry, Step, Versions

with workflow.unsafe.imports_passed_through():
    from activities.billing import BillingActivities
    from activities.crm import CrmActivities
    from activities.erp import ErpActivities
    from activities.support import SupportActivities

ERP = "erp"  # the ERP's own rate-limited task queue; reads included
UNDO = Retry.UNDO

# Refusals a person can fix in the data, by the vendor code the connector reports: the saga parks.
FIXABLE = {
    "UNKNOWN_PRODUCT": "missing_erp_mapping",
    "MISSING_TAX_REGISTRATION": "missing_tax_registration",
    "SchemaDrift": "schema_drift",  # a field q2c needs was renamed or retyped at the vendor: map it, then retry
}
MISSING_TAX_REGISTRATION = FIXABLE["MISSING_TAX_REGISTRATION"]

# Causes outside the data that retrying soon cannot fix, by the type activities/errors.py gives them: the
# saga parks at once (nothing undone) and re-tries the step by timer, going on by itself once it works.
UNFIXABLE = {
    "Unauthorized": "credentials",  # 401: a token revoked or expired
    "PermissionDenied": "permission_denied",  # 403: a permission an admin removed
    "EndpointMissing": "endpoint_missing",  # 404 on a route: the vendor moved or retired it
    "InternalError": "internal_error",  # a q2c defect: the same call fails the same way until a fix ships
}
# Retryable errors past the region's patience (attempts or time): parked under these codes.
EXHAUSTED = {"RateLimited": "rate_limited", "Transient": "vendor_unavailable", "TimeoutError": "vendor_unavailable"}

# Which kit features came to QuoteToCash after sagas were in flight (see workflows/patches.py).
VERSIONS = Versions(
    queues=patches.ERP_QUEUE,
    local=patches.LOCAL_STEPS,
    workbench=patches.WORKBENCH,
    unfixable=patches.UNFIXABLE_PARKS,
)
# Every patch QuoteToCash asks, asked in a new run's first workflow task (patch `patches-asked-at-start`); a patch
# added later joins this list: a run started before it replays the list without it (False, no marker). Never
# remove or reorder an id (runs replay this order; that includes VERSIONS' fields): deprecate it in place.
ASKED_AT_START = (
    *VERSIONS.ids(),
    patches.FEWER_UPSERTS,
    patches.CONTRACT_ENTITY,
    patches.BILLED_FROM_TERM_START,
)

# 1. the deal, validated (idempotent reads are local activities: cheap to repeat, no task of their own)
FETCH_DEAL = Step("fetch_deal", CrmActivities.fetch_deal, local=True)
RESOLVE_PRODUCTS = Step("resolve_products", ErpActivities.resolve_products, queue=ERP, local=True)
RESOLVE_PRICES = Step("resolve_prices", BillingActivities.resolve_prices, local=True)
# 2. the ERP customer (master data: never undone)
UPSERT_CUSTOMER = Step(
    "upsert_customer", ErpActivities.upsert_customer, queue=ERP, external_id=lambda o: o.erp_customer_id
)
# 3. credit
CHECK_CREDIT = Step("check_credit", ErpActivities.check_credit, queue=ERP, local=True)
NOTE_HOLD = Step("note_hold", CrmActivities.update_deal, local=True)
# 4. the sales order
CREATE_ORDER = Step("create_order", ErpActivities.create_sales_order, queue=ERP, external_id=lambda o: o.order_id)
CLOSE_ORDER = Step(
    "close_order", ErpActivities.close_sales_order, queue=ERP, retry=UNDO, action="close or cancel the sales order"
)
# 5. the order number on the deal
WRITE_BACK_ORDER = Step("write_back_order", CrmActivities.update_deal)
UNMARK_ORDER = Step("unmark_order", CrmActivities.update_deal, retry=UNDO, action="mark the deal's order as cancelled")
# 6. invoice one-time lines in the ERP, subscribe recurring ones in billing (named per frequency)
INVOICE_ERP = Step("invoice_erp", ErpActivities.invoice_order, queue=ERP, external_id=lambda o: o.invoice.id)
CREDIT_ERP_INVOICE = Step(
    "credit_erp_invoice", ErpActivities.credit_invoice, queue=ERP, retry=UNDO, action="credit-memo the ERP invoice"
)
SUBSCRIBE = Step("subscribe", BillingActivities.subscribe, external_id=lambda o: o.subscription_id)
CANCEL_SUBSCRIPTION = Step(
    "cancel_subscription",
    BillingActivities.cancel_subscription,
    retry=UNDO,
    action="cancel the subscription and withdraw its invoice",
)
FINALIZE_INVOICE = Step("finalize_invoice", BillingActivities.finalize_invoice, external_id=lambda o: o.invoice.id)
# 7. the entitlement (an operator may skip it when parked, having entitled the customer by hand)
PROVISION = Step(
    "provision_entitlement",
    SupportActivities.provision_entitlement,
    external_id=lambda o: o.organization_id,
    skippable=True,
)
REVOKE = Step("revoke_entitlement", SupportActivities.revoke_entitlement, retry=UNDO, action="revoke the entitlement")
# 8. milestones to CRM and support
MILESTONE_INVOICED = Step("milestone_invoiced", CrmActivities.update_deal, local=True)
MILESTONE_SUPPORT = Step("milestone_support", SupportActivities.record_milestone, local=True, skippable=True)
MILESTONE_ENTITLED = Step("milestone_entitled", CrmActivities.update_deal, local=True, skippable=True)
# payment follow-up (named per invoice where there are several)
MILESTONE_PAYMENT = Step("milestone_payment", CrmActivities.update_deal, skippable=True)
MILESTONE_SUPPORT_PAYMENT = Step("milestone_support_payment", SupportActivities.record_milestone, skippable=True)
FLAG_OVERDUE = Step("flag_overdue", SupportActivities.record_milestone, skippable=True)
FINANCE_REVIEW = Step(
    "finance_review", SupportActivities.open_finance_review, external_id=lambda o: o.ticket_id, skippable=True
)
NOTE_OVERDUE = Step("note_overdue", CrmActivities.update_deal, skippable=True)
# the end, however it came: the deal is told (retried like an undo: it must land)
NOTE_OUTCOME = Step("note_outcome", CrmActivities.update_deal, retry=UNDO)
