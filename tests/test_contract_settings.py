"""Contracts are switched on by configuration: every start the services make carries the contract policy."""

from __future__ import annotations

import uuid

from temporalio.contrib.pydantic import pydantic_data_converter

from client.starter import start_saga
from infra.settings import Q2CSettings
from models.common import Region
from models.saga import SagaInput
from tests.test_contract import env as env  # a server of its own: a workflow left without a worker must not

# hold the shared test server's time skipping for the tests after this one


async def started_input(env, settings: Q2CSettings) -> SagaInput:
    deal = f"contract-setting-{uuid.uuid4().hex[:8]}"
    started = await start_saga(
        env.client,
        deal,
        triggered_by="test",
        correlation_id="test",
        task_queue=f"no-worker-{uuid.uuid4().hex[:6]}",  # only the start request is looked at
        **settings.saga_terms(),
    )
    history = await started.handle.fetch_history()
    payloads = history.events[0].workflow_execution_started_event_attributes.input.payloads
    [saga] = pydantic_data_converter.payload_converter.from_payloads(payloads, [SagaInput])
    await started.handle.terminate("test done")
    return saga


async def test_q2c_contracts_turns_the_contract_entity_on_for_every_start(env, monkeypatch):
    monkeypatch.setenv("Q2C_CONTRACTS", '{"renewal_notice_days": 60}')
    monkeypatch.setenv("Q2C_CONTRACT_POLICIES", '{"uk": {"evergreen": true}}')
    saga = await started_input(env, Q2CSettings())
    assert saga.contracts is not None and saga.contracts.renewal_notice_days == 60
    assert saga.contract_policies[Region.UK].evergreen is True


async def test_without_it_a_sale_is_new_business_only(env, monkeypatch):
    monkeypatch.delenv("Q2C_CONTRACTS", raising=False)
    assert (await started_input(env, Q2CSettings())).contracts is None
