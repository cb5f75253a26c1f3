"""Rates from timestamps and Prometheus text: pure helpers the scale-out, ingress and parked benchmarks share."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def peak_in_window(times: Iterable[float], width: float = 1.0) -> int:
    """The most events in any window `width` seconds long (sliding, not aligned to clock seconds): what a
    vendor's per-second limit sees at its worst moment."""
    ordered = sorted(times)
    peak, first = 0, 0
    for last, at in enumerate(ordered):
        while ordered[first] <= at - width:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


def per_second(times: Iterable[float], began: float) -> list[int]:
    """Events counted per clock second since `began` (second 0 holds [began, began + 1))."""
    counts: list[int] = []
    for at in times:
        if at < began:
            continue
        second = int(at - began)
        counts.extend([0] * (second + 1 - len(counts)))
        counts[second] += 1
    return counts


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty sample."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def within(times: Iterable[float], began: float, ended: float) -> list[float]:
    """The timestamps in [began, ended], in order."""
    return sorted(t for t in times if began <= t <= ended)


def prometheus(text: str, wanted: Iterable[str]) -> dict[str, float]:
    """Sum each wanted metric over its label sets, from Prometheus' text exposition format.

    A counter's `_total` suffix is dropped; a histogram's `_sum` and `_count` are kept as `<name>_sum` /
    `<name>_count`, its buckets dropped."""
    names = tuple(wanted)
    totals: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if "{" in line:
            name, rest = line.split("{", 1)
            value = rest.rsplit("}", 1)[1].split()[0]
        else:
            name, value = line.split()[:2]
        name = name.removesuffix("_total")
        if name.endswith("_bucket") or not any(name == w or name in (f"{w}_sum", f"{w}_count") for w in names):
            continue
        totals[name] = totals.get(name, 0.0) + float(value)
    return totals
