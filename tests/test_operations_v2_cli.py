"""The README's operations v2 commands as an operator types them (`q2c` on the dev server): a 403 in support
parks a saga, `q2c exceptions` and `q2c status` show it with what to do, a bulk `q2c retry --query` completes
it once the permission is back, and a decision that no longer applies is refused with the reason."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from models.saga import SagaPolicy, Stage
from tests.conftest import Sagas
from tests.test_cli import live, q2c, until, worker

__all__ = ["live", "worker"]  # the fixtures, shared with tests/test_cli.py


async def test_a_403_is_listed_shown_and_bulk_retried_from_the_cli(live: Sagas) -> None:
    deal_id = live.new_deal(["IMPL-STD"])
    wid = f"q2c-hubspot-{deal_id}"
    live.sim.fault(system="zendesk", kind="error", status=403, code="Forbidden", message="permission removed")
    policy = SagaPolicy(step_attempts=3, recheck_every=timedelta(hours=1))
    await live.start(deal_id, policy)
    await until(live, deal_id, lambda s: s.stage is Stage.NEEDS_ATTENTION)

    shown = await q2c("status", deal_id)
    assert "parked: exception:permission_denied at provision_entitlement (zendesk)" in shown.output, shown.output
    assert "to do: restore the integration user's permission" in shown.output
    query = f"Q2CHold='exception:permission_denied' AND WorkflowId='{wid}'"
    for _ in range(100):  # visibility is eventually consistent
        listed = await q2c("exceptions", "--query", query)
        if deal_id in listed.output:
            break
        await asyncio.sleep(0.1)
    assert "permission_denied (zendesk)" in listed.output and deal_id in listed.output, listed.output

    live.sim.store.clear_faults()
    retried = await q2c("retry", "--query", query, "--by", "alice", "--reason", "permission restored")
    assert retried.exit_code == 0, retried.output
    assert f"retry {wid}: accepted" in retried.output and "1 accepted, 0 refused" in retried.output
    done = await until(live, deal_id, lambda s: s.stage is Stage.COMPLETED)
    assert done.compensations == [] and [(d.action, d.by) for d in done.decisions] == [("retry", "alice")]

    again = await q2c("retry", wid, "--by", "alice")
    assert again.exit_code == 1 and f"sent retry to {wid}: refused:" in again.output
    neither = await q2c("retry", "--by", "alice")
    assert neither.exit_code == 2 and "--query" in neither.output
