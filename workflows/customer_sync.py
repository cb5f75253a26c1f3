"""CustomerSync: one long-lived entity per customer that applies the ownership table to every change."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from temporalio import workflow

from workflows import patches
from workflows.options import FORWARD

with workflow.unsafe.imports_passed_through():
    from activities.customer_sync import CustomerSyncActivities
    from models.common import System
    from models.customer_sync import (
        AUDIT_KEPT,
        FIELDS,
        LIFECYCLE,
        SYNC_TYPE,
        AuditEntry,
        CustomerChange,
        CustomerRecord,
        Propagate,
        ReadOwner,
        order,
    )
    from models.ownership import UnknownAttribute, owner_of


@workflow.defn(name=SYNC_TYPE)
class CustomerSync:
    """Changes arrive as `change` signals (signal-with-start) from the CRM, the ERP and the support tool.

    Only the attribute's owner (by lifecycle stage) may change it: an owner's change is written to
    the other systems; anyone else's is refused and the owner's value is put back where it came from.
    q2c's own writes come back as webhooks; they are recognised and not propagated again.
    The customer's CRM (`record.crm`, from its first change that names one) is where CRM writes go, so one
    worker serves the customers of every configured CRM; a CRM's own change is answered in that CRM.
    Webhooks arrive in any order and more than once: a change older (on its source's clock) than one
    already applied from the same source for the same attribute is audited as `stale` and not applied.
    """

    @workflow.init
    def __init__(self, record: CustomerRecord) -> None:
        self.record = record
        self.queue: list[CustomerChange] = []

    @workflow.signal(name="change")
    def change(self, change: CustomerChange) -> None:
        self.queue.append(change)

    @workflow.query(name="audit")
    def audit(self, attribute: str | None = None) -> list[AuditEntry]:
        return [e for e in self.record.audit if attribute is None or e.attribute == attribute]

    @workflow.query(name="customer")
    def customer(self) -> CustomerRecord:
        return self.record

    @workflow.run
    async def run(self, record: CustomerRecord) -> None:
        handled = 0
        while True:
            await workflow.wait_condition(lambda: bool(self.queue))
            while self.queue:
                await self.apply(self.queue.pop(0))
                handled += 1
            if handled >= self.record.continue_after or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                self.record.audit = self.record.audit[-AUDIT_KEPT:]
                self.record.seen = self.record.seen[-AUDIT_KEPT:]
                workflow.continue_as_new(self.record)  # signals not yet handled move to the next run

    async def apply(self, change: CustomerChange) -> None:
        record = self.record
        # entities that ran before the ordering rule applied changes in arrival order, and replay that way
        ordered = workflow.patched(patches.CUSTOMER_SYNC_ORDERED)
        # entities that ran before two CRMs were served wrote every change to the worker's default CRM
        routed = workflow.patched(patches.CUSTOMER_SYNC_BY_CRM)
        if routed and record.crm is None and change.crm:
            record.crm = change.crm
        crm = (change.crm or record.crm) if routed else None
        held = record.versions.get(change.version_key)
        place = order(change.version, held) if ordered else "newer"
        if change.lifecycle is not None and place == "newer":
            record.stage = change.lifecycle
        before = record.values.get(change.attribute)
        entry = AuditEntry(
            change_id=change.change_id,
            source=change.source,
            attribute=change.attribute,
            before=before,
            after=change.value,
            at=change.at,
            correlation_id=change.correlation_id,
            stage=record.stage,
            rule="",
            outcome="accepted",
        )
        echo_key = f"{change.source.value}:{change.attribute}"
        if change.change_id in record.seen or place == "same":
            entry.outcome, entry.rule = "duplicate", "change id already handled"
        elif place == "stale" and held is not None:
            entry.outcome = "stale"
            entry.rule = f"{change.source.value} changed {change.attribute} later (at {held.at.isoformat()})"
        elif echo_key in record.expected_echoes and record.expected_echoes[echo_key] == change.value:
            del record.expected_echoes[echo_key]
            entry.outcome, entry.rule = "echo", "q2c wrote this value there itself"
        elif change.attribute == LIFECYCLE:
            entry.rule = f"the CRM moves the lifecycle stage (now {record.stage.value})"
        elif change.attribute not in FIELDS:
            entry.outcome, entry.rule = "refused", f"q2c does not synchronise {change.attribute}"
        else:
            try:
                owner = owner_of("customer", change.attribute, record.stage)
            except UnknownAttribute as missing:
                owner, entry.rule = None, str(missing)
            if owner is None:
                entry.outcome = "refused"
            elif owner is change.source:
                entry.rule = f"{owner.value} owns {change.attribute} of a {record.stage.value}"
                if before == change.value and change.attribute in record.values:
                    entry.outcome = "unchanged"
                else:
                    record.values[change.attribute] = change.value
                    targets = [s for s in FIELDS[change.attribute] if s is not change.source]
                    entry.propagated_to = await self.write(change, change.value, targets, crm)
            else:
                entry.rule = (
                    f"{owner.value} owns {change.attribute} of a {record.stage.value}, not {change.source.value}"
                )
                entry.outcome = await self.redirect(change, owner, crm, routed)
        if ordered and entry.outcome not in ("duplicate", "stale"):
            record.versions[change.version_key] = change.version
        record.seen.append(change.change_id)
        record.audit.append(entry)
        workflow.logger.info("customer change %s: %s", entry.outcome, entry.rule)

    async def redirect(
        self, change: CustomerChange, owner: System, crm: str | None = None, routed: bool = False
    ) -> Literal["refused", "redirected", "unchanged"]:
        """Put the owner's value back in the system that changed it; refuse when the owner has none.

        A source that reports whole records (a Salesforce Account's Outbound Message carries every field it
        selects) repeats the owner's value for attributes it did not change: nothing to put back (`routed`).
        """
        value = self.record.values.get(change.attribute)
        if change.attribute not in self.record.values and owner in FIELDS[change.attribute]:
            value = await workflow.execute_activity_method(
                CustomerSyncActivities.read_owner,
                ReadOwner(customer_id=self.record.customer_id, attribute=change.attribute, system=owner, crm=crm),
                **FORWARD,
            )
            self.record.values[change.attribute] = value
        if value is None or change.source not in FIELDS[change.attribute]:
            return "refused"
        if routed and value == change.value:
            return "unchanged"
        await self.write(change, value, [change.source], crm)
        return "redirected"

    async def write(
        self, change: CustomerChange, value: str | None, targets: list[System], crm: str | None = None
    ) -> list[System]:
        if not targets:
            return []
        written: list[System] = await workflow.execute_activity_method(
            CustomerSyncActivities.propagate,
            Propagate(
                customer_id=self.record.customer_id,
                attribute=change.attribute,
                value=value,
                targets=targets,
                origin=f"q2c:{change.change_id}",
                crm=crm,
            ),
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=FORWARD["retry_policy"],
        )
        for system in written:  # its webhook will bring our own write back: do not propagate it again
            self.record.expected_echoes[f"{system.value}:{change.attribute}"] = value
        return written
