"""The worker profile's buckets: a sample counts once, in the first bucket whose marker its stack holds."""

from __future__ import annotations

from benchmarks.profile_summary import summarise, top_frames

NEW_RUN = "run (a.py:1);SandboxedWorkflowRunner.create_instance (temporalio/worker/workflow_sandbox/_runner.py:101);"
CONTEXT = "run (a.py:1);_Instance.get_serialization_context (temporalio/worker/workflow_sandbox/_runner.py:213);"
RAW = "\n".join(
    [
        NEW_RUN + "_call_with_frames_removed (<frozen importlib._bootstrap>:241) 6",
        CONTEXT + "_ThreadLocalOverride.applied (temporalio/worker/workflow_sandbox/_importer.py:423) 3",
        "run (a.py:1);Importer._import (temporalio/worker/workflow_sandbox/_importer.py:195) 2",
        "run (a.py:1);SocketStream.send (anyio/_backends/_asyncio.py:1) 4",
        "run (a.py:1);_worker (concurrent/futures/thread.py:81) 50",  # a pool thread waiting: not work
    ]
)


def test_samples_go_to_the_sdk_call_that_paid_for_them():
    shares = {name: samples for name, samples, _ in summarise(RAW)}
    assert shares == {
        "sandbox: new run (imports not passed through)": 6,
        "sandbox: per-payload context calls": 3,
        "sandbox: module restore / import checks": 2,
        "HTTP client (httpx, h11, anyio)": 4,
    }


def test_waiting_threads_are_not_counted_as_self_time():
    frames = dict(top_frames(RAW))
    assert "_worker (concurrent/futures/thread.py:81)" not in frames
    assert frames["_call_with_frames_removed (<frozen importlib._bootstrap>:241)"] == 6
