"""What a saga costs in billable actions, from its history: straight through, held, compensated, the contract
lifecycle. Counted as Temporal Cloud bills (docs.temporal.io/cloud/actions)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError

from benchmarks.harness import Rig, make_deals
from client.sagas import SagaClient
from client.starter import Started
from models.saga import Stage

PRICE_PER_MILLION_ACTIONS_USD = 50.0  # Temporal Cloud list price, first tier (docs.temporal.io/cloud/pricing)
# Billable per Temporal Cloud's list of actions (docs.temporal.io/cloud/actions). Not billable, so counted apart:
# a patch's marker (`core_patch`) and the SDK's upsert of TemporalChangeVersion that goes with it.
BILLABLE = (
    "workflow_execution_started",
    "activity_task_scheduled",
    "workflow_execution_signaled",
    "timer_started",
    "start_child_workflow_execution_initiated",
    "signal_external_workflow_execution_initiated",
    "workflow_execution_update_accepted",  # an operator's decision by Update (a refused one is billed too)
)
VERSIONS = "TemporalChangeVersion"


async def start_deal(sagas: SagaClient, deal: str, correlation_id: str) -> Started:
    """Start (or join) a deal's saga; the starter's 2 s answer deadline is for webhooks, so a burst on 2 busy cores
    tries again: the same deal joins the run already started (USE_EXISTING), never a second one."""
    for attempt in range(10):
        try:
            return await sagas.start(deal, triggered_by="bench", correlation_id=correlation_id)
        except RPCError:
            if attempt == 9:
                raise
            await asyncio.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def shape_of(history: Any) -> dict[str, Any]:
    events = list(history.events)
    counts: dict[str, int] = {}
    for event in events:
        kind = event.WhichOneof("attributes").removesuffix("_event_attributes")
        counts[kind] = counts.get(kind, 0) + 1
    retries = sum(
        e.activity_task_started_event_attributes.attempt - 1
        for e in events
        if e.HasField("activity_task_started_event_attributes")
    )
    markers = [
        e.marker_recorded_event_attributes.marker_name for e in events if e.HasField("marker_recorded_event_attributes")
    ]
    upserted = [
        set(e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields)
        for e in events
        if e.HasField("upsert_workflow_search_attributes_event_attributes")
    ]
    upserts = sum(1 for fields in upserted if fields - {VERSIONS})
    local = markers.count("core_local_activity")
    actions = sum(counts.get(k, 0) for k in BILLABLE) + retries + upserts + local
    steps = steps_in(events)
    decided = next(
        (
            i
            for i, e in enumerate(events)
            if e.HasField("workflow_execution_signaled_event_attributes")
            or e.HasField("workflow_execution_update_accepted_event_attributes")
        ),
        len(events),
    )
    return {
        "events": len(events),
        "bytes": sum(e.ByteSize() for e in events),
        "actions": actions,
        # the rule before 2026-11-28 (every upsert and marker): comparable with the older tables
        "actions_counting_patches": actions + (len(upserted) - upserts) + (len(markers) - local),
        "activities": counts.get("activity_task_scheduled", 0),
        "local_activities": steps.count("local"),
        "upserts": upserts,
        "version_upserts": len(upserted) - upserts,
        "patch_markers": markers.count("core_patch"),
        "signals": counts.get("workflow_execution_signaled", 0) + counts.get("workflow_execution_update_accepted", 0),
        "timers": counts.get("timer_started", 0),
        "steps": steps,
        "steps_before_decision": len(steps_in(events[:decided])),  # where a held saga waits for its decision
    }


def steps_in(events: list[Any]) -> list[str]:
    """Each activity scheduled ("remote") or local activity recorded ("local"), in history order."""
    return [
        "local" if e.HasField("marker_recorded_event_attributes") else "remote"
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
        or (
            e.HasField("marker_recorded_event_attributes")
            and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
        )
    ]


async def cost(client: Client, rig_: Rig, task_queue: str) -> dict[str, Any]:
    """Actions, events and bytes per saga: straight through, with a hold, and compensated."""
    import httpx

    happy = make_deals(rig_.sim_url, 1)[0]
    held = make_deals(rig_.sim_url, 1, ["PLAT-ENT"], company="50000")[0]  # the over-credit company
    failed = make_deals(rig_.sim_url, 1)[0]
    shapes: dict[str, dict[str, Any]] = {}
    sagas = SagaClient(client, task_queue=task_queue)
    for name, deal in (("happy_path", happy), ("credit_hold", held), ("compensated", failed)):
        if name == "compensated":  # support refuses the entitlement: everything before it is undone
            httpx.post(
                f"{rig_.sim_url}/_sim/faults",
                json={
                    "system": "zendesk",
                    "kind": "business",
                    "method": "POST",
                    "count": 1,
                    "code": "RecordInvalid",
                    "path": "/api/v2/organizations/create_or_update*",  # with or without .json
                    "message": "refused",
                },
            ).raise_for_status()
        started = await start_deal(sagas, deal, name)
        if name == "credit_hold":
            while (await sagas.status(started.workflow_id)).stage is not Stage.ON_HOLD:
                await asyncio.sleep(0.05)
            await sagas.approve_credit(started.workflow_id, approver="bench")
        result = await started.handle.result()
        if name == "compensated" and result.stage is not Stage.COMPENSATED:
            raise RuntimeError(f"the compensated shape ended {result.stage.value}: the injected fault missed")
        shapes[name] = {"stage": result.stage.value, **shape_of(await started.handle.fetch_history())}
    minimum = 1 + len(shapes["happy_path"]["steps"])  # a start plus one action per step
    for shape in shapes.values():
        shape["usd_per_million_sagas"] = round(shape["actions"] * PRICE_PER_MILLION_ACTIONS_USD, 2)
    return {
        "sagas": shapes,
        "lifecycle": lifecycle_costs(),
        "theoretical_minimum_actions": minimum,
        "price_per_million_actions_usd": PRICE_PER_MILLION_ACTIONS_USD,
    }


KEPT_CONTRACTS = Path(__file__).parent.parent / "tests" / "histories" / "contract"


def lifecycle_costs() -> dict[str, dict[str, Any]]:
    """The contract lifecycle's shapes, from the kept histories of its tests (tests/histories/contract/: recorded
    on the time-skipping server by tests/test_contract*.py), so they are the code's runs, not this bench's."""
    shapes: dict[str, dict[str, Any]] = {}
    for path in sorted(KEPT_CONTRACTS.glob("*.json")):
        shape = shape_of(WorkflowHistory.from_json(path.stem, path.read_text()))
        shape.pop("steps"), shape.pop("steps_before_decision")
        shapes[path.stem] = {**shape, "usd_per_million": round(shape["actions"] * PRICE_PER_MILLION_ACTIONS_USD, 2)}
    return shapes
