"""Every `workflow.patched` id in one register: when it came, which kept histories need it, how it goes.

Code uses the constants below, never a string. A patch is kept while sagas started before it may still
be running (or replayed from tests/histories/); after MAX_AGE it must carry a `deprecate` plan: the
`workflow.deprecate_patch` release, then removal (Temporal's three-step patching). tests/test_patches.py
holds the code and the histories to this register.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

MAX_AGE = timedelta(days=180)  # longer than a saga lives (payment follow-up is 14 days, holds 72 hours)


@dataclass(frozen=True)
class Patch:
    id: str
    added: date
    why: str
    histories: tuple[str, ...]  # kept histories (under tests/histories/) recorded with this patch
    deprecate: str = ""  # the plan once no run without it is left: when deprecate_patch, when removal


LOCAL_STEPS = "local-reads-and-milestones"
ERP_QUEUE = "erp-task-queue"
WORKBENCH = "exception-workbench"
CUSTOMER_SYNC_ORDERED = "customer-sync-ordered-by-source-clock"
CUSTOMER_SYNC_BY_CRM = "customer-sync-routed-by-crm"
UNFIXABLE_PARKS = "unfixable-errors-park"
FEWER_UPSERTS = "search-attributes-on-filtered-changes"
CONTRACT_ENTITY = "contract-entity"
CONTRACT_RENEWAL_DEAL = "contract-renewal-deal"
RECONCILE_CONTRACTS = "reconcile-contracts"
CONTRACT_CANCEL_REFUND = "contract-cancel-refund"
ERP_RETURN_ORDER = "erp-return-order"
BILLED_FROM_TERM_START = "subscription-billed-from-term-start"
PATCHES_AT_START = "patches-asked-at-start"

# The kept histories (tests/histories/): the top level is today's saga shape, v2/ the shape before the ERP
# queue and the workbench, v1/ the one before any patch; fewer_upserts/ the shape since FEWER_UPSERTS (the top
# level predates it). A run records a patch only when it reaches the code that asks for it: a saga cancelled
# before its first step asks nothing.
FAILURES = (
    "business_failure_at_create_order",
    "business_failure_at_finalize_invoice_monthly",
    "business_failure_at_invoice_erp",
    "business_failure_at_milestone_support",
    "business_failure_at_provision_entitlement",
    "business_failure_at_subscribe_annually",
    "business_failure_at_write_back_order",
    "cancel_during_create_order",
    "cancel_during_invoice_erp",
    "cancel_during_provision_entitlement",
    "cancel_on_hold",
    "credit_hold_rejected",
    "invalid_deal",
)
SUCCESSES = ("credit_hold_approved", "happy_path", "rate_limited", "transient_retried")
PAYMENTS = ("payment_events_out_of_order", "payment_gated_entitlement", "payment_overdue")
WORKBENCH_RUNS = ("workbench_compensate", "workbench_retry_after_fix")
V2 = tuple(f"v2/{name}" for name in (*FAILURES, *SUCCESSES, "business_failure_no_tax"))
STOPPED_BEFORE_THE_ERP = ("invalid_deal",)

_OPERATIONS_V2 = (  # tests/test_operations_v2.py
    "operator_updates_refused_then_approved",
    "parked_credentials_at_hubspot_then_bulk_retry",
    "parked_credentials_at_stripe_then_bulk_retry",
    "parked_credentials_resumed_by_itself",
    "parked_permission_denied_at_netsuite_then_bulk_retry",
    "parked_permission_denied_at_zendesk_then_bulk_retry",
    "parked_vendor_unavailable_then_retry",
)
FEWER_UPSERTS_RUNS = ("fewer_upserts/straight_through", "fewer_upserts/credit_hold_released")  # test_search_upserts
TERM_START_RUNS = ("billed_from_term_start", "billed_from_term_start_payment_gate")  # test_billing_term_start
AT_START_RUNS = (  # test_patches_at_start, and an Update-with-Start from test_submit
    "at_start/straight_through",
    "at_start/credit_hold_released",
    "at_start/submitted",
)

REGISTER: dict[str, Patch] = {
    p.id: p
    for p in (
        Patch(
            LOCAL_STEPS,
            date(2026, 11, 25),
            "idempotent reads and milestone writes run as local activities",
            (
                *FAILURES,
                *SUCCESSES,
                *PAYMENTS,
                *WORKBENCH_RUNS,
                *V2,
                *_OPERATIONS_V2,
                *FEWER_UPSERTS_RUNS,
                *TERM_START_RUNS,
                *AT_START_RUNS,
            ),
        ),
        Patch(
            ERP_QUEUE,
            date(2026, 11, 25),
            "ERP calls, reads included, on the ERP's own rate-limited task queue",
            tuple(
                n
                for n in (*FAILURES, *SUCCESSES, *PAYMENTS, *WORKBENCH_RUNS, *_OPERATIONS_V2, *FEWER_UPSERTS_RUNS)
                if n not in STOPPED_BEFORE_THE_ERP
            )
            + TERM_START_RUNS
            + AT_START_RUNS,
        ),
        Patch(
            WORKBENCH,
            date(2026, 11, 25),
            "fixable refusals and stuck undos park for a person; undos retry capped",
            (*FAILURES, *WORKBENCH_RUNS, "cancel_before_validation", *AT_START_RUNS),  # when it stops or parks
        ),
        Patch(
            CUSTOMER_SYNC_ORDERED,
            date(2026, 11, 28),
            "CustomerSync applies changes in their source's clock order, not in arrival order",
            (),
        ),
        Patch(
            CUSTOMER_SYNC_BY_CRM,
            date(2026, 11, 28),
            "CustomerSync writes to the customer's own CRM (two served at once); a whole-record report of the "
            "owner's value is unchanged, not put back",
            (),
        ),
        Patch(
            UNFIXABLE_PARKS,
            date(2026, 11, 28),
            "401/403/404-route/internal errors and retries past the region's patience park, re-tried by timer",
            (*_OPERATIONS_V2, *FEWER_UPSERTS_RUNS, *TERM_START_RUNS, *AT_START_RUNS),
        ),
        Patch(
            CONTRACT_ENTITY,
            date(2026, 11, 28),
            "a completed sale opens the customer's Contract entity; a deal of another type is queued on it",
            AT_START_RUNS,
        ),
        Patch(
            CONTRACT_RENEWAL_DEAL,
            date(2026, 11, 28),
            "at the renewal notice the Contract opens the renewal deal in the CRM, at the new term's prices",
            ("contract/three_years",),
        ),
        Patch(
            RECONCILE_CONTRACTS,
            date(2026, 11, 28),
            "Reconciliation also pages through the running Contract entities (visibility), checking billing against "
            "each contract",
            ("reconciliation/drift_named", "reconciliation/drift_repaired", "reconciliation/paged"),
        ),
        Patch(
            CONTRACT_CANCEL_REFUND,
            date(2026, 11, 28),
            "a cancellation now credits the unused time where the region's cancel_refund says: billing and the ERP",
            ("contract/cancel_refund", "contract/cancel_refund_return_order"),  # the credit: a sales order, a return
        ),
        Patch(
            BILLED_FROM_TERM_START,
            date(2026, 11, 28),
            "a term starting after the sale is billed from its first day (Stripe's billing_cycle_anchor, nothing "
            "charged before); with no invoice yet a payment gate entitles, nothing being due",
            TERM_START_RUNS + AT_START_RUNS,
        ),
        Patch(
            ERP_RETURN_ORDER,
            date(2026, 11, 29),
            "a change that owes the customer is a return order in the ERP, which keeps no sales order below zero; "
            "asked only for such a change, so that a worker on older code never gets one it would take for a sale",
            (
                "contract/cancel_refund_return_order",
                "contract/contraction_refund_return_order",
                "contract/contraction_refund_return_order_undone",
            ),
        ),
        Patch(
            FEWER_UPSERTS,
            date(2026, 11, 28),
            "search attributes upserted on a hold, an exception, payment, an undo and the end, not every stage",
            FEWER_UPSERTS_RUNS + TERM_START_RUNS + AT_START_RUNS,
        ),
        Patch(
            PATCHES_AT_START,
            date(2026, 11, 29),
            "a new QuoteToCash asks every patch in its first workflow task, before any local activity: Temporal's core "
            "can record a local activity's result in one task and the commands after it in the next, and a replay then "
            "resumes the saga in the earlier task, where a patch first asked after the activity is unknown "
            "(`patched` is False: a nondeterminism error; RELIABILITY.md)",
            AT_START_RUNS,
        ),
    )
}


def overdue(today: date, register: dict[str, Patch] = REGISTER) -> list[Patch]:
    """Patches past MAX_AGE with no plan to deprecate them."""
    return [p for p in register.values() if today - p.added > MAX_AGE and not p.deprecate.strip()]
