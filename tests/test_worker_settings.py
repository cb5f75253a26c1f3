"""The worker's memory and rate settings reach the SDK's workers, read from the environment as documented."""

from __future__ import annotations

import pytest

from connectors.registry import make_adapter
from infra.settings import Q2CSettings
from workers.worker import activities_for, build_worker


def test_the_cache_size_and_the_erp_rate_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("Q2C_MAX_CACHED_WORKFLOWS", "250")
    monkeypatch.setenv("Q2C_ERP_ACTIVITIES_PER_SECOND", "7.5")
    settings = Q2CSettings()
    assert (settings.max_cached_workflows, settings.erp_activities_per_second) == (250, 7.5)


def test_a_negative_cache_size_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("Q2C_MAX_CACHED_WORKFLOWS", "-1")
    with pytest.raises(ValueError, match="max_cached_workflows"):
        Q2CSettings()


async def test_build_worker_hands_both_to_the_sdk(env, adapters):
    activities = activities_for(*adapters)
    workers = build_worker(
        env.client, "q2c-settings", activities, erp_activities_per_second=7.5, max_cached_workflows=250
    )
    assert workers.main.config()["max_cached_workflows"] == 250
    assert workers.erp.config()["max_task_queue_activities_per_second"] == 7.5


async def test_a_ceiling_on_the_erps_requests_bounds_the_erp_steps_a_worker_runs_at_once(env, adapters, monkeypatch):
    monkeypatch.setenv("Q2C_NETSUITE_REQUESTS_PER_SECOND", "7")
    async with make_adapter("erp", "netsuite") as erp:
        assert erp.requests_per_second == 7
    assert adapters.erp.requests_per_second is None  # made before the variable was set: no ceiling
    workers = build_worker(env.client, "q2c-ceiling", activities_for(*adapters), erp_steps_at_once=7)
    assert workers.erp.config()["max_concurrent_activities"] == 7
    unbounded = build_worker(env.client, "q2c-no-ceiling", activities_for(*adapters), erp_steps_at_once=None)
    assert unbounded.erp.config()["max_concurrent_activities"] == 100  # the SDK's default
