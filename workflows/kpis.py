"""Business KPIs recorded from inside the saga, through Temporal's replay-safe workflow meter.

Recorded here rather than by the starter or an activity so that each fact is counted exactly once,
however often the workflow replays. The worker exports them on its Prometheus endpoint with the SDK's
own metrics. README.md documents each one.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

SAGAS_STARTED = "q2c_sagas_started"
SAGAS_FINISHED = "q2c_sagas_finished"
SAGAS_PARKED = "q2c_sagas_parked"
HOLD_DURATION = "q2c_hold_seconds"
DEAL_TO_ENTITLEMENT = "q2c_deal_to_entitlement_seconds"
MILESTONES = "q2c_milestones"
RECONCILED = "q2c_reconciled_deals"
FINDINGS = "q2c_reconciliation_findings"
ALL = (
    SAGAS_STARTED,
    SAGAS_FINISHED,
    SAGAS_PARKED,
    HOLD_DURATION,
    DEAL_TO_ENTITLEMENT,
    MILESTONES,
    RECONCILED,
    FINDINGS,
)


def started() -> None:
    workflow.metric_meter().create_counter(SAGAS_STARTED, "sagas started (one per deal)").add(1)


def finished(outcome: str) -> None:
    workflow.metric_meter().create_counter(
        SAGAS_FINISHED, "sagas ended, by outcome: completed, compensated, cancelled, failed"
    ).add(1, {"outcome": outcome})


def parked(reason: str) -> None:
    workflow.metric_meter().create_counter(
        SAGAS_PARKED, "sagas parked for a person, by reason: credit_review, exception:<code>"
    ).add(1, {"reason": reason})


def hold_decided(reason: str, decision: str, held: timedelta) -> None:
    workflow.metric_meter().create_histogram_timedelta(
        HOLD_DURATION, "time a saga spent on hold, by reason and decision", "duration"
    ).record(held, {"reason": reason, "decision": decision})


def entitled(since_start: timedelta) -> None:
    workflow.metric_meter().create_histogram_timedelta(
        DEAL_TO_ENTITLEMENT, "from the saga's start to the support entitlement being active", "duration"
    ).record(since_start)


def milestone(name: str) -> None:
    workflow.metric_meter().create_counter(
        MILESTONES, "milestones reached: order_accepted, invoice_posted, paid, payment_failed, entitled"
    ).add(1, {"milestone": name})


def reconciled(checked: int, findings: dict[str, int]) -> None:
    """One page of reconciliation: deals checked and drift found by kind (invoice accuracy is 1 - drift/checked)."""
    meter = workflow.metric_meter()
    meter.create_counter(RECONCILED, "closed-won deals reconciliation checked").add(checked)
    counter = meter.create_counter(FINDINGS, "drift reconciliation found, by kind: missing_saga, amount_mismatch, ...")
    for kind, count in findings.items():
        counter.add(count, {"kind": kind})
