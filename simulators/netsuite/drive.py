"""Driving the NetSuite simulator from outside: the slowness the demo sets up."""

from __future__ import annotations

from typing import Any

NAME = "netsuite"


def slow_invoicing(match: str, latency_ms: int) -> dict[str, Any]:
    """A fault (for the simulators' POST /_sim/faults): turning an order whose request carries `match` into an
    invoice takes `latency_ms` longer."""
    return {
        "system": NAME,
        "kind": "latency",
        "method": "POST",
        "path": "*/!transform/invoice",
        "match": match,
        "latency_ms": latency_ms,
    }
