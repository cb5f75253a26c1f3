"""A vendor error in a local activity is counted like any other (`q2c_vendor_errors_total`), and a parked
saga is counted once by its reason (`q2c_sagas_parked_total{reason="exception:credentials"}`)."""

from __future__ import annotations

from datetime import timedelta

from connectors.registry import Adapters
from models.saga import SagaPolicy, Stage
from tests.conftest import Sim
from tests.metered import metered_sagas, scrape
from workflows import kpis


async def test_a_401_in_a_local_step_is_counted_and_its_park_counted_once(env, sim: Sim, adapters: Adapters) -> None:
    async with metered_sagas(env.client, sim, adapters, "parkmetrics") as (sagas, metrics):
        sim.fault(system="stripe", kind="error", status=401, code="AUTH", message="key revoked")
        policy = SagaPolicy(step_attempts=3, recheck_every=timedelta(seconds=1))
        handle = await sagas.start(sagas.new_deal(["PLAT-PRO"]), policy)
        await sagas.wait_for(handle, lambda s: s.exception is not None and s.exception.rechecks >= 2, within=60)
        parked = await sagas.status(handle)
        assert parked.exception is not None and parked.exception.step == "resolve_prices"  # a local activity
        sim.store.clear_faults()
        assert (await sagas.finish(handle)).stage is Stage.COMPLETED
        text = await scrape(metrics)

    def value(name: str, **labels: str) -> float:
        lines = [x for x in text.splitlines() if x.startswith(name + "{")]
        found = [x for x in lines if all(f'{k}="{v}"' in x for k, v in labels.items())]
        assert found, f"{name} {labels} not served; got:\n" + "\n".join(lines)
        return sum(float(x.rsplit(" ", 1)[1]) for x in found)

    assert value("q2c_vendor_errors_total", system="stripe", error_class="unauthorized") >= 3  # first try + rechecks
    assert value(kpis.SAGAS_PARKED + "_total", reason="exception:credentials") == 1
