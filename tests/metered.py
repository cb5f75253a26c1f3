"""Sagas on a worker whose Temporal client serves Prometheus metrics: what alert and KPI tests scrape."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from connectors.registry import Adapters
from infra.telemetry import metrics_runtime
from simulators.server import free_port
from tests.conftest import Sagas, Sim
from workers.worker import activities_for, build_worker


@asynccontextmanager
async def metered_sagas(env: Client, sim: Sim, adapters: Adapters, name: str) -> AsyncIterator[tuple[Sagas, str]]:
    """A worker on a queue of its own, its client connected to `env`'s server with a metrics endpoint of its
    own; yields the sagas and the endpoint's URL."""
    bind = f"127.0.0.1:{free_port()}"
    client = await Client.connect(
        env.service_client.config.target_host,
        namespace=env.namespace,
        data_converter=pydantic_data_converter,
        runtime=metrics_runtime(bind),
    )
    task_queue = f"q2c-{name}-{uuid.uuid4().hex[:8]}"
    async with build_worker(client, task_queue, activities_for(*adapters)):
        yield Sagas(client, task_queue, sim), f"http://{bind}/metrics"


async def scrape(url: str) -> str:
    async with httpx.AsyncClient() as web:
        return (await web.get(url)).text
