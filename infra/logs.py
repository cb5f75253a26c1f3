"""Logging: structlog for q2c and, through the same processors, for Temporal's and uvicorn's stdlib loggers.

JSON in production, readable in a terminal. Context (workflow id, run id, activity, attempt, correlation
id) is bound in contextvars by the worker's interceptor and the ingress, so every line carries it. Secrets
are redacted by a processor, whichever logger wrote the line.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import IO, Any, Literal

import structlog
from structlog.typing import EventDict, Processor

SECRET_KEYS = re.compile(r"(token|secret|password|passwd|authorization|api[_-]?key|signature|cookie|credential)", re.I)
SECRET_VALUES = re.compile(r"(Bearer\s+[A-Za-z0-9._~+/=-]+|sk_(?:test|live)_[A-Za-z0-9]+|whsec_[A-Za-z0-9]+)")
REDACTED = "[redacted]"


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > 6:
        return value
    if isinstance(value, str):
        return SECRET_VALUES.sub(REDACTED, value)
    if isinstance(value, Mapping):
        return {
            k: REDACTED if isinstance(k, str) and SECRET_KEYS.search(k) else _scrub(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v, depth + 1) for v in value]
    return value


def redact(_: Any, __: str, event: EventDict) -> EventDict:
    """Secrets out of every line: by key name anywhere in the event, and by shape inside any string."""
    return {k: REDACTED if SECRET_KEYS.search(k) and k != "event" else _scrub(v) for k, v in event.items()}


def flatten_temporal(_: Any, __: str, event: EventDict) -> EventDict:
    """Temporal's loggers attach `temporal_workflow` / `temporal_activity` dicts: lift the useful keys."""
    for key, fields in (
        ("temporal_workflow", ("workflow_id", "run_id", "workflow_type")),
        ("temporal_activity", ("workflow_id", "workflow_run_id", "activity_type", "attempt")),
    ):
        found = event.pop(key, None)
        if isinstance(found, MutableMapping):
            for name in fields:
                if name in found:
                    event.setdefault("run_id" if name == "workflow_run_id" else name, found[name])
    return event


def shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        flatten_temporal,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]


def configure_logging(
    fmt: Literal["json", "console"] | None = None, level: str = "INFO", stream: IO[str] | None = None
) -> None:
    """Call once per process. `fmt` None: JSON unless stderr is a terminal."""
    fmt = fmt or ("console" if sys.stderr.isatty() else "json")
    renderer: Processor = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    pre = shared_processors()
    structlog.configure(
        processors=[*pre, structlog.processors.format_exc_info, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=pre,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
