"""Correlation ids: what q2c accepts from a caller, and what it puts in an outgoing request header.

The rule: 1 to 64 characters, each one of `A-Z a-z 0-9 . _ : -`. Such an id is safe in an HTTP header
(ASCII, no spaces or separators to split on), in a log line and in a workflow history, and short enough
to cost nothing when it is repeated in every one of them. A caller's id outside the rule is not taken:
q2c makes its own and logs the refused one, truncated.
"""

from __future__ import annotations

import hashlib
import re

import structlog

SAFE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
SHOWN = 80  # characters of a refused value that go into the log line

log = structlog.get_logger("q2c.correlation")


def is_safe(value: str) -> bool:
    return SAFE.fullmatch(value) is not None


def preview(value: str) -> str:
    """A refused value for a log line: its first characters, with non-printables escaped, and its length."""
    shown = value[:SHOWN].encode("unicode_escape").decode("ascii")
    return shown if len(value) <= SHOWN else f"{shown}... ({len(value)} chars)"


def accepted(offered: str | None, own: str) -> str:
    """The caller's correlation id when it follows the rule; otherwise q2c's `own` (refusal logged)."""
    if offered is None or offered == "":
        return own
    if is_safe(offered):
        return offered
    log.warning("correlation id refused", offered=preview(offered), length=len(offered), replaced_by=own)
    return own


def outbound(value: str) -> str:
    """The id to send in a request header: as is when safe, else a stable digest of it (never verbatim).

    Ids are checked where they enter, so this only matters for one that arrived by another way (an old
    workflow history, a hand-started saga); the digest still ties the vendor's logs to ours.
    """
    if is_safe(value):
        return value
    return "q2c-sha256-" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
