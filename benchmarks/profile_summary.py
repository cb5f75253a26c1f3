"""Where a benchmark's worker spends its CPU, from a py-spy raw profile (collapsed stacks, one line per stack).

    py-spy record -r 50 -f raw -o /tmp/bench.txt -- python -m benchmarks.run --sizes 1000 --parked 0
    python -m benchmarks.profile_summary /tmp/bench.txt

Each sample goes to the first bucket (in BUCKETS order) whose marker appears in its stack: a sample inside
pydantic called from the sandbox's workflow code counts as pydantic, so the buckets say which work, not who asked.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # the sandbox's two per-run costs, by the SDK call that pays them (both run the importer's checks below):
    # a new or replayed run imports what is not passed through; every payload in or out asks the run, inside
    # its sandbox, for a serialization context (SDK 1.35: exec of a code string, about 75 us a call)
    ("sandbox: new run (imports not passed through)", ("SandboxedWorkflowRunner.create_instance",)),
    ("sandbox: per-payload context calls", ("_Instance.get_serialization_context", "get_external_store_context")),
    ("sandbox: module restore / import checks", ("temporalio/worker/workflow_sandbox/_importer", "_restrictions")),
    ("pydantic (validate / serialise)", ("pydantic/", "pydantic_core", "temporalio/contrib/pydantic")),
    ("payload codec / JSON", ("temporalio/converter", "json/", "infra/codec")),
    ("HTTP client (httpx, h11, anyio)", ("httpx/", "httpcore/", "h11/", "anyio/")),
    ("logging / structlog / telemetry", ("structlog/", "logging/", "opentelemetry/", "infra/logs", "infra/telemetry")),
    ("workflow code (q2c workflows/)", ("workflows/",)),
    ("activities and connectors (q2c)", ("activities/", "connectors/")),
    ("temporalio worker (activation, commands)", ("temporalio/worker/", "temporalio/bridge/")),
    ("asyncio event loop", ("asyncio/",)),
)


# A pool thread waiting for work (the SDK runs activations on one): py-spy cannot tell this wait from work.
WAITING = ("_worker (concurrent/futures/thread.py", "EpollSelector.select (selectors.py")


def busy(raw: str) -> list[tuple[str, int]]:
    """(stack, samples) of py-spy's raw format (`frame;frame;... count` a line), waits left out."""
    found: list[tuple[str, int]] = []
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit() and not stack.split(";")[-1].startswith(WAITING):
            found.append((stack, int(count)))
    return found


def summarise(raw: str) -> list[tuple[str, int, float]]:
    """(bucket, samples, share) of the samples that were work."""
    counts: Counter[str] = Counter()
    for stack, count in busy(raw):
        bucket = next((name for name, markers in BUCKETS if any(m in stack for m in markers)), "other")
        counts[bucket] += count
    total = sum(counts.values()) or 1
    return [(name, n, round(n / total, 3)) for name, n in counts.most_common()]


def top_frames(raw: str, n: int = 15) -> list[tuple[str, int]]:
    """The innermost frames (self time) with the most samples."""
    counts: Counter[str] = Counter()
    for stack, count in busy(raw):
        counts[stack.split(";")[-1]] += count
    return counts.most_common(n)


if __name__ == "__main__":
    text = Path(sys.argv[1]).read_text()
    for name, samples, share in summarise(text):
        print(f"{share:6.1%}  {samples:7d}  {name}")
    print("\nself time, innermost frames:")
    for frame, samples in top_frames(text):
        print(f"{samples:7d}  {frame}")
