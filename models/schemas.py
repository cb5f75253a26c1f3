"""Export event contracts as JSON Schema and tell when a change would break a consumer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from models.events import CONTRACTS

Schema = dict[str, Any]


def contract_schemas() -> dict[str, Schema]:
    return {name: model.model_json_schema(mode="serialization") for name, model in CONTRACTS.items()}


def export(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in contract_schemas().items():
        path = directory / f"{name}.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def _resolve(schema: Schema, root: Schema) -> Schema:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _resolve(root["$defs"][ref.removeprefix("#/$defs/")], root)
    return schema


def _shape(schema: Schema, root: Schema) -> Any:
    """The part of a schema a consumer depends on: types, formats, nested shapes."""
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return sorted(json.dumps(_shape(option, root), sort_keys=True) for option in schema["anyOf"])
    shape: dict[str, Any] = {k: schema[k] for k in ("type", "format", "const", "enum") if k in schema}
    if "properties" in schema:
        shape["properties"] = {k: _shape(v, root) for k, v in schema["properties"].items()}
    if "items" in schema:
        shape["items"] = _shape(schema["items"], root)
    return shape


def breaking_changes(old: Schema, new: Schema, path: str = "") -> list[str]:
    """Changes from `old` to `new` that would break a consumer written against `old`."""
    return _compare(old, old, new, new, path)


def _compare(old: Schema, old_root: Schema, new: Schema, new_root: Schema, path: str) -> list[str]:
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    problems = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, old_field in old_props.items():
        where = f"{path}.{name}" if path else name
        if name not in new_props:
            problems.append(f"{where}: removed")
            continue
        new_field = new_props[name]
        if "properties" in _resolve(old_field, old_root) and "properties" in _resolve(new_field, new_root):
            problems += _compare(old_field, old_root, new_field, new_root, where)
        elif _shape(old_field, old_root) != _shape(new_field, new_root):
            problems.append(f"{where}: type changed")
    for name in sorted(set(new.get("required", [])) - set(old.get("required", []))):
        where = f"{path}.{name}" if path else name
        problems.append(f"{where}: newly required")
    return problems


def compatibility_report(directory: Path) -> list[str]:
    """Breaking changes of the current contracts against the committed schemas in `directory`."""
    problems = []
    current = contract_schemas()
    for name, schema in current.items():
        path = directory / f"{name}.json"
        if not path.exists():
            problems.append(f"{name}: no committed schema at {path} (run `q2c schemas export`)")
            continue
        problems += [f"{name}: {p}" for p in breaking_changes(json.loads(path.read_text()), schema)]
    for path in sorted(directory.glob("*.json")):
        if path.stem not in current:
            problems.append(f"{path.stem}: committed contract no longer exported (a consumer may depend on it)")
    return problems
