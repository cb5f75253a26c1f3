"""Every module the worker passes through its sandbox exists: a stale name silently costs every saga a re-import."""

from __future__ import annotations

import asyncio
import importlib
import sys

import pytest
import temporalio.converter
from temporalio.api.common.v1 import Payloads
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.worker._workflow_instance import WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox._runner import _fake_info
from temporalio.workflow import _Definition

from tests.test_replay import HISTORIES, history
from workers.worker import PASSTHROUGH, sandbox_runner
from workflows.contract import ContractAmendment, ContractEntity
from workflows.quote_to_cash import QuoteToCash
from workflows.reconciliation import Reconciliation


@pytest.mark.parametrize("module", PASSTHROUGH)
def test_each_passed_through_module_exists(module):
    importlib.import_module(module)


def test_a_saga_run_imports_only_its_workflow_module_afresh():
    """Each new or replayed run re-imports (and, without bytecode, compiles) what is not passed through: for
    QuoteToCash that must be its workflow module alone, not its parts nor the contract package (SDK internals:
    the sandbox's own module table)."""

    async def fresh_modules() -> set[str]:
        converter = temporalio.converter.DataConverter.default
        instance = sandbox_runner().create_instance(
            WorkflowInstanceDetails(
                payload_converter_factory=converter._new_payload_converter,
                failure_converter_class=converter.failure_converter_class,
                interceptor_classes=[],
                defn=_Definition.must_from_class(QuoteToCash),
                info=_fake_info,
                randomness_seed=-1,
                extern_functions={},
                disable_eager_activity_execution=False,
                worker_level_failure_exception_types=[],
                patch_activation_callback=None,
                last_completion_result=Payloads(),
                last_failure=None,
            )
        )
        modules = instance.importer.new_modules  # type: ignore[attr-defined]
        return {
            name for name, mod in modules.items() if name.startswith("workflows") and mod is not sys.modules.get(name)
        }

    assert asyncio.run(fresh_modules()) == {"workflows", "workflows.quote_to_cash", "workflows.quote_to_cash.workflow"}


async def test_every_kept_history_replays_in_the_workers_own_sandbox():
    """The replay gate's runner has the SDK's default pass-through; the worker passes the sagas' parts through:
    the kept histories replay under that sandbox too."""
    workflows = [QuoteToCash, ContractEntity, ContractAmendment, Reconciliation]
    replayer = Replayer(workflows=workflows, workflow_runner=sandbox_runner(), data_converter=pydantic_data_converter)
    failures = {}
    for path in HISTORIES:
        result = await replayer.replay_workflow(history(path), raise_on_replay_failure=False)
        if result.replay_failure is not None:
            failures[path.stem] = str(result.replay_failure)
    assert not failures
