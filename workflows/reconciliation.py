"""Reconciliation: page through closed-won deals, name the drift in every system, repair what q2c can."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows import kpis, patches, search

with workflow.unsafe.imports_passed_through():
    from activities.reconcile import ReconcileActivities
    from models.reconcile import (
        RECONCILE_TYPE,
        CheckDeals,
        DriftItem,
        ReconcileInput,
        ReconciliationReport,
        RepairInput,
    )
    from models.saga import WORKFLOW_TYPE, SagaInput, saga_id

PAGE: dict[str, Any] = {
    "start_to_close_timeout": timedelta(minutes=10),
    "heartbeat_timeout": timedelta(minutes=1),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=1)),
}


@workflow.defn(name=RECONCILE_TYPE)
class Reconciliation:
    """Reads are paged by heartbeating activities and only drift enters the history; after
    `pages_per_run` pages (or when Temporal suggests it) the run continues as new with its cursor
    and report, so 100,000 deals make many small histories instead of one oversized one.

    After every CRM's deals, the same cursor pages through the running Contract entities (patch
    `reconcile-contracts`): each contract's billing against its lines, `contract_mismatch` reported for a
    person (no repair: docs/contracts.md), found once however many ways."""

    @workflow.run
    async def run(self, job: ReconcileInput) -> ReconciliationReport:
        now = workflow.now()
        until = job.until or now.date()
        since = job.since or (until - timedelta(days=job.window_days))
        report = job.report or ReconciliationReport(started_at=now, since=since, until=until)
        cursor, pages = job.cursor, 0
        contracts = workflow.patched(patches.RECONCILE_CONTRACTS)
        while True:
            checked = await workflow.execute_activity_method(
                ReconcileActivities.check_deals,
                CheckDeals(
                    after=cursor,
                    limit=job.page_size,
                    since=since.isoformat(),
                    until=job.until.isoformat() if job.until else None,  # open-ended: future close dates count
                    contracts=contracts,
                ),
                **PAGE,
            )
            if job.repair:
                for item in checked.items:
                    if item.repair is not None:
                        item.repaired = await self.repair(item, job)
            report.checked += checked.checked
            report.contracts_checked += checked.contracts_checked
            report.contracts_unlisted = report.contracts_unlisted or checked.contracts_unlisted
            report.add(checked.items)
            kpis.reconciled(checked.checked, Counter(item.kind.value for item in checked.items))
            cursor, pages = checked.next_after, pages + 1
            if cursor is None:
                break
            if pages >= job.pages_per_run or workflow.info().is_continue_as_new_suggested():
                report.runs += 1
                workflow.continue_as_new(job.model_copy(update={"cursor": cursor, "report": report}))
        report.finished_at = workflow.now()
        verdict = "drift" if report.counts else "clean" if report.clean else "nothing_checked"
        workflow.upsert_search_attributes([search.STAGE.value_set(verdict)])
        return report

    async def repair(self, item: DriftItem, job: ReconcileInput) -> str:
        assert item.repair is not None
        if item.repair.action == "start_saga":
            return await self.start_saga(item.deal_id, job, item.repair.fields.get("crm") or item.crm or "hubspot")
        key = f"{workflow.info().workflow_id}:{item.deal_id}:{item.repair.action}:{item.repair.ref}"
        return str(
            await workflow.execute_activity_method(
                ReconcileActivities.repair,
                RepairInput(item=item, idempotency_key=key),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=5),
            )
        )

    async def start_saga(self, deal_id: str, job: ReconcileInput, crm: str = "hubspot") -> str:
        """The deal's own saga, under its own id, outliving this run; one already there is left alone."""
        workflow_id = saga_id(crm, deal_id)
        try:
            await workflow.start_child_workflow(
                WORKFLOW_TYPE,
                SagaInput(
                    deal_id=deal_id,
                    crm=crm,
                    correlation_id=f"reconcile-{workflow.info().workflow_id}",
                    triggered_by=f"reconcile:{workflow.info().workflow_id}",
                    policies=job.policies,
                ),
                id=workflow_id,
                task_queue=job.task_queue or workflow.info().task_queue,
                parent_close_policy=ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            return f"saga {workflow_id} already exists"
        return f"started saga {workflow_id}"
