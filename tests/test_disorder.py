"""Correct under disorder: changes applied by the source's clock, whatever order and however often they arrive."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.crm import PAYMENT_RANK
from infra.settings import Q2CSettings
from infra.temporal import register_search_attributes
from models.common import System
from models.customer_sync import CustomerChange, Version, order
from simulators.server import free_port
from tests.conftest import Sagas, temporal_binary, time_skipping_server
from tests.conftest import dev_server as real_dev_server
from tests.test_customer_sync import a_customer, audit, support_org
from tests.test_ingress import event, signed
from workers.ingress import create_ingress
from workers.worker import activities_for, build_worker
from workflows.customer_sync import CustomerSync

T = TypeVar("T")
T0 = datetime(2026, 11, 1, tzinfo=UTC)
Key = tuple[System, str]


@pytest.fixture(scope="module")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A test server of its own: CustomerSync entities outlive each test (see test_customer_sync)."""
    async with time_skipping_server() as env:
        yield env


def deliver(changes: list[CustomerChange]) -> tuple[dict[Key, str | None], dict[Key, Version]]:
    """What an entity holds after these deliveries, applying each by the one ordering rule."""
    values: dict[Key, str | None] = {}
    held: dict[Key, Version] = {}
    for change in changes:
        key = (change.source, change.attribute)
        if order(change.version, held.get(key)) == "newer":
            values[key], held[key] = change.value, change.version
    return values, held


@st.composite
def disorderly_deliveries(draw: st.DrawFn) -> tuple[list[CustomerChange], list[CustomerChange]]:
    """Distinct changes (ties on the clock included) and one delivery of them: shuffled, some redelivered."""
    count = draw(st.integers(min_value=1, max_value=30))
    changes = [
        CustomerChange(
            change_id=f"evt-{n}",
            customer_id="c1",
            source=draw(st.sampled_from([System.CRM, System.ERP, System.SUPPORT])),
            attribute=draw(st.sampled_from(["legal_name", "contacts"])),
            value=draw(st.sampled_from(["Acme", "Acme Inc", "ACME Holdings", None])),
            at=T0 + timedelta(milliseconds=draw(st.integers(min_value=0, max_value=5))),  # few instants: ties
            sequence=draw(st.sampled_from([0, 0, 1])),
        )
        for n in range(count)
    ]
    redelivered = draw(st.lists(st.sampled_from(changes), max_size=count))
    return changes, draw(st.permutations(changes + redelivered))


@pytest.mark.chaos  # `make chaos` runs it too, with 10x the cases
@settings(max_examples=300 * (10 if os.environ.get("Q2C_CHAOS_SAGAS") else 1), deadline=None)
@given(case=disorderly_deliveries())
def test_any_delivery_order_with_duplicates_ends_where_in_order_delivery_does(case):
    changes, delivered = case
    in_order = sorted(changes, key=lambda c: c.version.key())
    assert deliver(delivered) == deliver(in_order)
    values, _ = deliver(delivered)
    for key, value in values.items():  # and that is each source's newest change of each attribute
        newest = max((c for c in changes if (c.source, c.attribute) == key), key=lambda c: c.version.key())
        assert value == newest.value


@settings(max_examples=200, deadline=None)
@given(statuses=st.lists(st.sampled_from(["posted", "payment_failed", "paid"]), min_size=1, max_size=8))
def test_payment_status_by_the_same_rule_only_moves_forward(statuses):
    """The rank outranks time: whatever arrives last, the status is the furthest one reached."""
    held: Version | None = None
    status = None
    for n, candidate in enumerate(statuses):
        version = Version(rank=PAYMENT_RANK[candidate], at=T0 + timedelta(seconds=n), change_id=f"evt-{n}")
        if order(version, held) == "newer":
            held, status = version, candidate
    assert status == max(statuses, key=lambda s: PAYMENT_RANK[s])


def test_ties_on_the_clock_are_broken_by_the_event_id_and_a_redelivery_is_the_same():
    early, late = Version(at=T0, change_id="evt-1"), Version(at=T0, change_id="evt-2")
    assert order(late, early) == "newer" and order(early, late) == "stale"
    assert order(Version(at=T0.replace(tzinfo=None), change_id="evt-1"), early) == "same"  # naive is UTC


@pytest.mark.chaos
async def test_the_older_name_delivered_last_does_not_win_in_the_erp_or_support(ts_env, sagas, hubspot_app_secret):
    """Two HubSpot name changes of a prospect, the later one (by occurredAt) delivered first."""
    customer = await a_customer(sagas)
    app = create_ingress(Q2CSettings(task_queue=sagas.task_queue), client=ts_env.client)
    now = int(datetime.now(UTC).timestamp() * 1000)

    def rename(event_id: str, name: str, occurred: int) -> dict:
        return event(
            event_id,
            eventId=int(event_id),
            subscriptionType="company.propertyChange",
            objectId=int(customer),
            propertyName="name",
            propertyValue=name,
            occurredAt=occurred,
        )

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingress.test") as web:
        for batch in ([rename("701", "Newer Name LLC", now)], [rename("700", "Older Name LLC", now - 60_000)]):
            body = json.dumps(batch).encode()
            assert (await web.post("/webhooks/hubspot", content=body, headers=signed(body))).status_code == 200
    entries = await audit(sagas, customer, 2)
    assert [(e.after, e.outcome) for e in entries] == [("Newer Name LLC", "accepted"), ("Older Name LLC", "stale")]
    assert entries[1].propagated_to == []
    erp = sagas.sim.store.find("netsuite", "customer", "externalId", customer)[0]
    assert erp["companyName"] == "Newer Name LLC"
    assert support_org(sagas, customer)["name"] == "Newer Name LLC"


# ---- Temporal unreachable: answered fast, nothing started twice once it is back ----


@asynccontextmanager
async def dev_server(port: int, database: Path) -> AsyncIterator[None]:
    """Temporal's dev server on `port`, keeping its state in `database` across restarts."""
    http, metrics, ui = (str(free_port()) for _ in range(3))
    server = await asyncio.create_subprocess_exec(
        *(temporal_binary("temporal"), "server", "start-dev", "--headless", "--port", str(port), "--http-port", http),
        *("--metrics-port", metrics, "--ui-port", ui, "--db-filename", str(database)),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=30)


async def until(check: Callable[[], Awaitable[T]], within: float = 60) -> T:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            return await check()
        except (RPCError, RuntimeError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


async def timed_post(web: httpx.AsyncClient, deal_id: str) -> httpx.Response:
    body = json.dumps([event(deal_id)]).encode()
    began = time.monotonic()
    response = await web.post("/webhooks/hubspot", content=body, headers=signed(body))
    print(f"deal {deal_id}: {response.status_code} after {time.monotonic() - began:.2f} s")
    return response


async def test_an_outage_is_answered_503_with_retry_after_and_nothing_starts_twice_after_it(
    tmp_path, hubspot_app_secret
):
    """A deal started before the outage, its redelivery and a new deal during it, both again after it."""
    port, database = free_port(), tmp_path / "temporal.db"
    settings = Q2CSettings(task_queue=f"q2c-outage-{uuid.uuid4().hex[:6]}")
    before, during = "8100001", "8100002"
    ids = {deal: f"q2c-hubspot-{deal}" for deal in (before, during)}
    async with AsyncExitStack() as stack:
        async with dev_server(port, database):
            client = await until(lambda: Client.connect(f"127.0.0.1:{port}", data_converter=pydantic_data_converter))
            await until(lambda: register_search_attributes(client))
            app = create_ingress(settings, client=client)
            transport = httpx.ASGITransport(app=app)
            web = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://ingress.test")
            )
            assert (await timed_post(web, before)).json()["started"] == [ids[before]]
        for deal_id in (before, during):  # Temporal is down
            refused = await timed_post(web, deal_id)
            assert refused.status_code == 503 and refused.headers["Retry-After"].isdigit()
        async with dev_server(port, database):
            await until(lambda: client.count_workflows())
            answers = [(await timed_post(web, deal_id)).json() for deal_id in (before, during, during)]
            assert [(a["started"], a["joined"]) for a in answers] == [
                ([], [ids[before]]),
                ([ids[during]], []),
                ([], [ids[during]]),
            ]
            for workflow_id in ids.values():  # one run each: never a second one
                described = await client.get_workflow_handle(workflow_id).describe()
                assert described.run_id == described.raw_description.workflow_execution_info.first_run_id


async def test_a_client_that_never_reached_temporal_is_answered_503_too(hubspot_app_secret):
    client = await Client.connect(  # nothing listens there
        f"127.0.0.1:{free_port()}", lazy=True, data_converter=pydantic_data_converter
    )
    app = create_ingress(Q2CSettings(), client=client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingress.test") as web:
        refused = await timed_post(web, "8100003")
    assert refused.status_code == 503 and refused.headers["Retry-After"].isdigit()


async def test_an_entity_that_applied_changes_in_arrival_order_still_replays():
    """Recorded on the code before the ordering rule (newer name, then older, both accepted): such entities
    keep running, so the rule is behind `workflow.patched` and their histories replay as they were."""
    path = Path(__file__).parent / "histories_customer_sync" / "arrival_order.json"
    replayer = Replayer(workflows=[CustomerSync], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(WorkflowHistory.from_json("customer-sync-arrival-order", path.read_text()))


async def test_the_worker_drains_on_shutdown_while_a_local_step_keeps_failing(sim, adapters):
    """SIGTERM's drain, while `fetch_deal` (a local activity) fails on every attempt. Only a real dev server
    shows it: Temporal's core keeps such retries inside the worker, so its workflow task never completes."""
    async with real_dev_server() as env:
        task_queue = f"q2c-drain-{uuid.uuid4().hex[:6]}"
        workers = build_worker(env.client, task_queue, activities_for(*adapters))
        await workers.__aenter__()
        sagas = Sagas(env.client, task_queue, sim)
        deal = sagas.new_deal(["IMPL-STD"])
        sim.fault(system="hubspot", kind="error", status=503, method="GET", path=f"*/deals/{deal}*")
        handle = await sagas.start(deal)
        await asyncio.sleep(10)  # retries well under way: backoffs of 1, 2 and 4 s, then 8 s, past the threshold
        began = time.monotonic()
        await workers.__aexit__(None, None, None)  # returns at all, within the test's timeout
        print(f"worker drained in {time.monotonic() - began:.1f} s")
        await handle.terminate()
