"""The simulators (`q2c simulators`) with each request's arrival time kept per vendor, so a benchmark can read
what a vendor saw per second (NetSuite against the ERP queue's rate limit).

Run: python -m benchmarks.counted_simulators --port 8100; read `GET /_bench/arrivals/netsuite` (Unix times).
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from simulators.app import create_app
from simulators.context import SimulatorSettings


class Arrivals:
    """ASGI middleware: keeps the wall-clock time each HTTP request arrived at, by its first path segment."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.times: defaultdict[str, list[float]] = defaultdict(list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/_bench/arrivals/"):
            await self.answer(path.removeprefix("/_bench/arrivals/"), send)
            return
        self.times[path.strip("/").split("/", 1)[0]].append(time.time())
        await self.app(scope, receive, send)

    async def answer(self, system: str, send: Send) -> None:
        body = ("[" + ",".join(f"{t:.4f}" for t in self.times.get(system, [])) + "]").encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()
    settings = SimulatorSettings(host=args.host, port=args.port, db=":memory:")
    uvicorn.run(Arrivals(create_app(settings)), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
