"""Versioning in one place: every patch id the code uses is in workflows/patches.py, with its date, the kept
histories that need it and, once old, a plan to deprecate it."""

from __future__ import annotations

import ast
import base64
import json
from datetime import date
from pathlib import Path

import pytest

from workflows import patches

ROOT = Path(__file__).parent.parent
HISTORIES = ROOT / "tests" / "histories"
SOURCES = [p for d in ("workflows", "activities", "client", "workers") for p in sorted((ROOT / d).rglob("*.py"))]
PATCH_CALLS = {"patched", "deprecate_patch"}


def patch_ids(path: Path) -> list[tuple[int, str | None]]:
    """(line, patch id) of every `patched(...)` / `deprecate_patch(...)` call and every `Versions(...)` id: the
    register's constant resolved, a module constant or a literal read; None where the id is computed."""
    tree = ast.parse(path.read_text(), str(path))
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    arguments: list[ast.expr] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in PATCH_CALLS and node.args:
            arguments.append(node.args[0])
        if name == "Versions":
            arguments += [keyword.value for keyword in node.keywords]
    found: list[tuple[int, str | None]] = []
    for arg in arguments:
        value: str | None = None
        if isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name) and arg.value.id == "patches":
            value = getattr(patches, arg.attr, f"<patches.{arg.attr} is not defined>")
        elif isinstance(arg, ast.Name):
            value = constants.get(arg.id)
        elif isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            value = arg.value
        found.append((arg.lineno, value))
    return found


def used_in_code() -> dict[str, list[str]]:
    """Patch id -> where the code uses it. Only the kit may take an id it cannot name: the business saga's
    `Versions` hands it over."""
    used: dict[str, list[str]] = {}
    for path in SOURCES:
        for line, patch in patch_ids(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if patch is not None:
                used.setdefault(patch, []).append(where)
            elif not path.is_relative_to(ROOT / "workflows" / "kit"):
                pytest.fail(f"{where}: a patch id must be a constant (of workflows/patches.py), not computed")
    return used


def recorded_in_histories() -> dict[str, set[str]]:
    """Patch id -> the kept histories that recorded it (Temporal writes a `core_patch` marker)."""
    recorded: dict[str, set[str]] = {}
    for path in sorted(HISTORIES.rglob("*.json")):
        for event in json.loads(path.read_text())["events"]:
            marker = event.get("markerRecordedEventAttributes") or {}
            if marker.get("markerName") != "core_patch":
                continue
            for details in marker["details"].values():
                for payload in details["payloads"]:
                    patch = json.loads(base64.b64decode(payload["data"]))["id"]
                    recorded.setdefault(patch, set()).add(str(path.relative_to(HISTORIES).with_suffix("")))
    return recorded


def test_every_patch_id_the_code_uses_is_registered():
    used = used_in_code()
    assert used, "no patched() call found: the scan is broken"
    missing = {patch: places for patch, places in used.items() if patch not in patches.REGISTER}
    assert not missing, f"patch ids missing from workflows/patches.py: {missing}"


def test_every_registered_patch_is_used_and_names_the_histories_that_recorded_it():
    in_code = set(used_in_code())
    recorded = recorded_in_histories()
    for patch in patches.REGISTER.values():
        assert patch.id in in_code or patch.deprecate, f"{patch.id} is used nowhere: remove it, or note its plan"
        assert set(patch.histories) == recorded.get(patch.id, set()), f"{patch.id}: histories listed != recorded"
    assert set(recorded) <= set(patches.REGISTER), (
        f"unregistered patches in histories: {set(recorded) - set(patches.REGISTER)}"
    )


def test_no_registered_patch_is_past_its_age_without_a_deprecation_plan():
    overdue = patches.overdue(date.today())
    assert not overdue, [
        f"{p.id} added {p.added}: older than {patches.MAX_AGE.days} days, add `deprecate=`" for p in overdue
    ]


def test_the_age_check_and_the_scan_can_fail(tmp_path):
    old = patches.Patch("old-change", date(2020, 1, 1), "why", ())
    planned = patches.Patch(
        "planned", date(2020, 1, 1), "why", (), deprecate="deprecate_patch in 2020.07, gone 2020.10"
    )
    fresh = patches.Patch("fresh", date.today(), "why", ())
    register = {p.id: p for p in (old, planned, fresh)}
    assert patches.overdue(date.today(), register) == [old]
    source = tmp_path / "careless.py"
    source.write_text('from temporalio import workflow\nLATER = "later"\nif workflow.patched(LATER):\n    pass\n')
    assert patch_ids(source) == [(3, "later")]  # not in the register: the first test would name it
