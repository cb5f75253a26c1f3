"""The ingress as production runs it (`q2c ingress`, its own process): sustained signed HubSpot webhooks per
second with their answer times, then a burst of deliveries at once, none lost; a saga per deal is checked in
Temporal's visibility. No worker polls the queue, so this measures the ingress and Temporal's start path only.

Usage: python -m benchmarks.ingress [--sustained 2000] [--senders 20] [--burst 1000] [--out ...ingress.json]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import resource
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from benchmarks.harness import cpu_seconds, rig
from benchmarks.rates import percentile
from benchmarks.services import ingress_process
from connectors.hubspot.webhooks import SIGNATURE, TIMESTAMP, sign
from models.saga import WORKFLOW_TYPE

SECRET = "bench-hubspot-app-secret"
ATTEMPTS = 10  # HubSpot retries a failed delivery up to 10 times (developers.hubspot.com, webhooks API)
_events = itertools.count(1)


def delivery(deal: int) -> bytes:
    """One HubSpot delivery: a deal moved to closedwon, with a fresh event id (a redelivery keeps the deal)."""
    event = {
        "eventId": next(_events),
        "subscriptionId": 1,
        "portalId": 62515,
        "occurredAt": int(time.time() * 1000),
        "subscriptionType": "deal.propertyChange",
        "attemptNumber": 0,
        "objectId": deal,
        "propertyName": "dealstage",
        "propertyValue": "closedwon",
        "changeSource": "CRM",
    }
    return json.dumps([event]).encode()


class Sender:
    """Posts signed deliveries and, as HubSpot does, sends a failed one (non-2xx or no answer) again."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http, self.url = http, f"{url}/webhooks/hubspot"
        self.answers: list[float] = []  # seconds, every attempt that got an answer
        self.statuses: dict[str, int] = {}
        self.retried = self.lost = self.joined = 0

    async def send(self, body: bytes) -> None:
        for attempt in range(ATTEMPTS):
            stamp = int(time.time() * 1000)
            headers = {SIGNATURE: sign(SECRET, "POST", self.url, body, stamp), TIMESTAMP: str(stamp)}
            began = time.perf_counter()
            try:
                answer = await self.http.post(self.url, content=body, headers=headers)
            except httpx.HTTPError as error:
                status = type(error).__name__
            else:
                self.answers.append(time.perf_counter() - began)
                status = str(answer.status_code)
                if answer.is_success:
                    self.joined += len(answer.json()["joined"])
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status.startswith("2"):
                return
            self.retried += 1
            await asyncio.sleep(min(2**attempt, 30) * random.uniform(0.25, 0.75))  # spread, as senders are
        self.lost += 1

    def summary(self, deliveries: int, seconds: float) -> dict[str, Any]:
        return {
            "deliveries": deliveries,
            "seconds": round(seconds, 2),
            "per_second": round(deliveries / seconds, 1),
            "answer_p50_ms": round(statistics.median(self.answers) * 1000, 1),
            "answer_p95_ms": round(percentile(self.answers, 0.95) * 1000, 1),
            "answer_p99_ms": round(percentile(self.answers, 0.99) * 1000, 1),
            "answer_max_ms": round(max(self.answers) * 1000, 1),
            "statuses": self.statuses,
            "sent_again": self.retried,
            "lost": self.lost,
            "joined": self.joined,
        }


async def sustained(url: str, deals: list[int], senders: int) -> dict[str, Any]:
    """`senders` deliveries in flight at all times (each sender posts its next as soon as answered)."""
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=senders)) as http:
        sender, queue = Sender(http, url), iter(deals)

        async def loop() -> None:
            for deal in queue:
                await sender.send(delivery(deal))

        began = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(senders)))
        return {"senders": senders, **sender.summary(len(deals), time.perf_counter() - began)}


async def burst(url: str, deals: list[int], redelivered: list[int]) -> dict[str, Any]:
    """Every delivery at once, redeliveries of some deals among them (HubSpot delivers at least once)."""
    bodies = [delivery(d) for d in deals + redelivered]
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=len(bodies))) as http:
        sender = Sender(http, url)
        began = time.perf_counter()
        await asyncio.gather(*(sender.send(b) for b in bodies))
        return {"redeliveries": len(redelivered), **sender.summary(len(bodies), time.perf_counter() - began)}


async def sagas_seen(client: Client, task_queue: str, expected: int, within: float = 120) -> int:
    """The sagas visibility shows on the queue, waited for until `expected` (visibility lags the starts)."""
    query, deadline = f"TaskQueue = '{task_queue}' AND WorkflowType = '{WORKFLOW_TYPE}'", time.monotonic() + within
    while (seen := (await client.count_workflows(query)).count) < expected and time.monotonic() < deadline:
        await asyncio.sleep(1)
    return seen


def enough_files(needed: int) -> None:
    """A burst holds a socket per delivery here and in the ingress (which inherits the limit): raise the soft one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        ceiling = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, ceiling), hard))


async def main(n_sustained: int, senders: int, n_burst: int, out: Path) -> dict[str, Any]:
    enough_files(2 * n_burst + 1000)
    task_queue = f"ingress-{uuid.uuid4().hex[:6]}"
    first = int(time.time())  # deal ids unique to this run (a saga's id is the deal's)
    steady = list(range(first, first + n_sustained))
    bursting = list(range(first + n_sustained, first + n_sustained + n_burst))
    redelivered = bursting[:: max(1, 10)]  # one in ten delivered twice within the burst
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": f"python -m benchmarks.ingress --sustained {n_sustained} --senders {senders} --burst {n_burst}",
    }
    with rig() as rig_:
        client = await rig_.client()
        process, url = ingress_process(rig_, task_queue, SECRET)
        try:
            cpu = cpu_seconds(process.pid)
            report["sustained"] = await sustained(url, steady, senders)
            report["sustained"]["ingress_cpu_ms_per_delivery"] = round(
                (cpu_seconds(process.pid) - cpu) * 1000 / n_sustained, 2
            )
            report["sustained"]["sagas_seen"] = await sagas_seen(client, task_queue, n_sustained)
            print(json.dumps(report["sustained"]), flush=True)
            report["burst"] = await burst(url, bursting, redelivered)
            report["burst"]["distinct_deals"] = n_burst
            total = await sagas_seen(client, task_queue, n_sustained + n_burst)
            report["burst"]["sagas_seen"] = total - report["sustained"]["sagas_seen"]
            report["burst"]["none_lost"] = report["burst"]["sagas_seen"] == n_burst and report["burst"]["lost"] == 0
            print(json.dumps(report["burst"]), flush=True)
        finally:
            process.stop()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sustained", type=int, default=2000, help="deliveries in the sustained phase")
    parser.add_argument("--senders", type=int, default=20, help="deliveries in flight in the sustained phase")
    parser.add_argument("--burst", type=int, default=1000, help="distinct deals delivered at once")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/ingress.json"))
    args = parser.parse_args()
    asyncio.run(main(args.sustained, args.senders, args.burst, args.out))
