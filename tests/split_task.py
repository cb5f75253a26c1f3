"""A kept history reshaped as Temporal's core can record it under load: a local activity's result in one workflow
task, and the commands that follow it in the next (the task heartbeated or timed out as the activity ended).

`q2c demo --crm salesforce` on a loaded machine recorded exactly this (2026-11-29): task 53-55 completed with only
`crm.fetch_deal`'s marker; task 57-59 with the `erp-task-queue` patch marker and `erp.resolve_products`.
"""

from __future__ import annotations

import copy
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

LOCAL_ACTIVITY = "core_local_activity"


def _shift_event_ids(message: Any, at: int, by: int) -> None:
    """Every `*event_id` at or past `at`, in the message and the messages it holds, moves by `by`."""
    for field, value in message.ListFields():
        if field.message_type is not None:
            for item in value if hasattr(value, "append") else [value]:
                if hasattr(item, "ListFields"):
                    _shift_event_ids(item, at, by)
        elif field.name.endswith("event_id") and isinstance(value, int) and value >= at:
            setattr(message, field.name, value + by)


def _is_local_activity(event: HistoryEvent) -> bool:
    marker = event.marker_recorded_event_attributes
    return event.HasField("marker_recorded_event_attributes") and marker.marker_name == LOCAL_ACTIVITY


def local_activities(history: WorkflowHistory) -> int:
    return sum(_is_local_activity(e) for e in history.events)


def split_after_first_local_activity(history: WorkflowHistory, nth: int = 0) -> WorkflowHistory:
    """The same history with an empty workflow task between the `nth` local activity's marker (the first by
    default) and what follows; the commands after it now belong to that task."""
    events = list(history.events)
    marker = [n for n, e in enumerate(events) if _is_local_activity(e)][nth]
    at, when = events[marker].event_id + 1, events[marker].event_time
    task: list[HistoryEvent] = []
    for offset, kind in enumerate(("SCHEDULED", "STARTED", "COMPLETED")):
        kind_id = EventType.Value(f"EVENT_TYPE_WORKFLOW_TASK_{kind}")
        event = copy.deepcopy(next(e for e in events if e.event_type == kind_id))
        event.event_id = at + offset
        event.event_time.CopyFrom(when)
        task.append(event)
    task[1].workflow_task_started_event_attributes.scheduled_event_id = at
    task[2].workflow_task_completed_event_attributes.scheduled_event_id = at
    task[2].workflow_task_completed_event_attributes.started_event_id = at + 1
    after = [copy.deepcopy(e) for e in events[marker + 1 :]]
    recorded_by = events[marker].marker_recorded_event_attributes.workflow_task_completed_event_id
    for event in after:
        _shift_event_ids(event, at, len(task))
        for _, attributes in event.ListFields():  # the commands that came with the marker: the new task's now
            if getattr(attributes, "workflow_task_completed_event_id", None) == recorded_by:
                attributes.workflow_task_completed_event_id = at + 2
    return WorkflowHistory(history.workflow_id, [*events[: marker + 1], *task, *after])
