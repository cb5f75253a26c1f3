"""Stripe's cursor paging as a property: walking forward by `starting_after` or backward by `ending_before`, in
any page size, visits every object once, newest first, whatever the ties in `created`.

https://docs.stripe.com/api/pagination
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.context import SimContext, SimulatorSettings
from simulators.store import Store
from simulators.stripe.core import Stripe


def billing(created: list[int]) -> tuple[Stripe, list[dict[str, Any]]]:
    state = Stripe(SimContext(settings=SimulatorSettings(seed=False), store=Store(), rng=random.Random(7)), None)
    made = [state.new("customer", {"created": when}) for when in created]
    return state, made


@settings(max_examples=60, deadline=None)
@given(created=st.lists(st.integers(0, 5), max_size=40), limit=st.integers(1, 12))
def test_forward_and_backward_walks_visit_everything_once_newest_first(created: list[int], limit: int) -> None:
    state, made = billing(created)
    newest_first = [r["id"] for r in sorted(made, key=lambda r: (r["created"], r["id"]), reverse=True)]
    forward: list[str] = []
    query: dict[str, Any] = {"limit": limit}
    while True:
        page = state.page(made, query, "/v1/customers", "2023-08-16")
        forward += [r["id"] for r in page["data"]]
        assert len(page["data"]) <= limit and page["url"] == "/v1/customers"
        if not page["has_more"]:
            break
        query = {"limit": limit, "starting_after": page["data"][-1]["id"]}
    assert forward == newest_first
    if not made:
        return
    backward: list[str] = []
    query = {"limit": limit, "ending_before": newest_first[-1]}
    while True:  # as the SDK walks ending_before: each page is newest first, the walk goes toward the newest
        page = state.page(made, query, "/v1/customers", "2023-08-16")
        backward = [r["id"] for r in page["data"]] + backward
        if not page["has_more"]:
            break
        query = {"limit": limit, "ending_before": page["data"][0]["id"]}
    assert backward == newest_first[:-1]
