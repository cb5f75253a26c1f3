"""`q2c status`, `q2c exceptions` and the operator actions with a Salesforce saga, on a real dev server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from typer.testing import CliRunner, Result

from cli.app import app
from cli.common import console
from connectors.roles import Roles
from devstack.rig import simulated_worker
from models.common import Region
from models.saga import SagaPolicy, SagaStatus, Stage
from tests.conftest import Sim
from tests.test_salesforce_saga import SalesforceSagas, wid

RUNNER = CliRunner()
BOTH = Roles(crm="hubspot", crms=("hubspot", "salesforce"))  # HubSpot the default: Salesforce ids need `crm:`


async def q2c(*args: str) -> Result:
    return await asyncio.to_thread(lambda: RUNNER.invoke(app, list(args)))


@pytest.fixture(scope="module")
async def worker(dev_env, sim: Sim) -> AsyncIterator[str]:
    task_queue = f"q2c-cli-sf-{uuid.uuid4().hex[:8]}"
    async with simulated_worker(dev_env.client, sim.url, task_queue, roles=BOTH):
        yield task_queue


@pytest.fixture
def live(dev_env, sim: Sim, worker: str, monkeypatch: pytest.MonkeyPatch) -> SalesforceSagas:
    for name in (
        "Q2C_CODEC_KEYS",
        "Q2C_CODEC_KEYS_FILE",
        "Q2C_CRM",
        "Q2C_CRMS",
        "TEMPORAL_PROFILE",
        "TEMPORAL_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEMPORAL_ADDRESS", dev_env.client.service_client.config.target_host)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "default")
    monkeypatch.setenv("Q2C_TASK_QUEUE", worker)
    monkeypatch.setattr(console, "width", 200)
    return SalesforceSagas(dev_env.client, worker, sim)


async def test_a_parked_salesforce_saga_is_shown_listed_and_retried_from_the_cli(live: SalesforceSagas) -> None:
    account = live.fresh_account("no_tax", VAT_Number__c=None)
    deal_id = live.new_deal(["PLAT-PRO"], account=account)
    policy = SagaPolicy(required_tax_fields=["tax_registration"])
    handle = await live.start(deal_id, policies={Region.EMEA: policy})
    await live.wait_for(handle, lambda s: s.stage is Stage.NEEDS_ATTENTION)

    for named in (f"salesforce:{deal_id}", wid(deal_id)):
        shown = await q2c("status", named)
        assert shown.exit_code == 0, shown.output
        assert f"{wid(deal_id)}  stage needs_attention" in shown.output, named
    raw = await q2c("status", f"salesforce:{deal_id}", "--json")
    status = SagaStatus.model_validate_json(raw.output)
    assert status.exception is not None and status.exception.code == "missing_tax_registration"
    bare = await q2c("status", deal_id)  # a bare id is the default CRM's (HubSpot's): no such saga there
    assert bare.exit_code != 0 and f"q2c-hubspot-{deal_id}" in bare.output

    for _ in range(100):  # visibility is eventually consistent
        listed = await q2c("exceptions")
        assert listed.exit_code == 0, listed.output
        if deal_id in listed.output:
            break
        await asyncio.sleep(0.1)
    assert "missing_tax_registration" in listed.output and deal_id in listed.output

    live.records.update("Account", account, {"VAT_Number__c": "DE123456789"})
    retried = await q2c("retry", f"salesforce:{deal_id}", "--by", "ops@q2c.example", "--reason", "VAT added")
    assert retried.exit_code == 0, retried.output
    assert (await live.finish(handle)).stage is Stage.COMPLETED
