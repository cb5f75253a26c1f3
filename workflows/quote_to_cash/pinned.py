"""QuoteToCash as a versioned worker registers it: pinned to the worker version that started it.

A separate definition because the SDK refuses a versioning behavior on an unversioned worker, and q2c runs
unversioned too (no `Q2C_BUILD_ID`). Same type name, handlers and code: only where it runs differs.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import VersioningBehavior

from workflows.quote_to_cash.workflow import QuoteToCash

with workflow.unsafe.imports_passed_through():
    from models.saga import WORKFLOW_TYPE, SagaInput, SagaResult


@workflow.defn(name=WORKFLOW_TYPE, versioning_behavior=VersioningBehavior.PINNED)
class PinnedQuoteToCash(QuoteToCash):
    @workflow.init
    def __init__(self, saga: SagaInput) -> None:
        super().__init__(saga)

    @workflow.run
    async def run(self, saga: SagaInput) -> SagaResult:
        return await super().run(saga)
