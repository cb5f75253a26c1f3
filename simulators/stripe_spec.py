"""Validate form-encoded Stripe requests against Stripe's own OpenAPI spec.

Stripe's bodies are flat `a[b][0][c]=v` pairs of strings; the spec describes typed nested objects. So we
decode the brackets, coerce strings to the types the spec names, then validate with jsonschema.
"""

from __future__ import annotations

import functools
import os
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jsonschema
import yaml

SPEC_RELATIVE = Path("shared/vendor-specs/stripe/openapi-subset.yaml")
_BRACKETS = re.compile(r"\[([^\]]*)\]")


def find_spec(explicit: str | None = None) -> Path | None:
    """The spec given, else `shared/` beside the checkout (as laid out for development and CI)."""
    if explicit:
        return Path(explicit)
    if env := os.environ.get("Q2C_STRIPE_SPEC"):
        return Path(env)
    for base in (Path.cwd(), Path(__file__).resolve().parent):
        for parent in (base, *base.parents):
            candidate = parent / SPEC_RELATIVE
            if candidate.is_file():
                return candidate
    return None


def decode_form(body: bytes | str) -> dict[str, Any]:
    """`items[0][price]=p&expand[]=x` -> {"items": {"0": {"price": "p"}}, "expand": ["x"]}."""
    text = body.decode() if isinstance(body, bytes) else body
    result: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True, strict_parsing=False):
        head = key.split("[", 1)[0]
        parts = [head, *_BRACKETS.findall(key[len(head) :])]
        node: Any = result
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part == "":  # a[]=x appends
                break
            if last:
                node[part] = value
            else:
                if parts[index + 1] == "":
                    node.setdefault(part, []).append(value)
                    break
                node = node.setdefault(part, {})
    return _listify(result)


def _listify(value: Any) -> Any:
    """Objects keyed 0..n are arrays, as Stripe reads `items[0][price]`, with or without the spec."""
    if isinstance(value, dict):
        value = {k: _listify(v) for k, v in value.items()}
        if value and all(k.isdigit() for k in value):
            return [value[k] for k in sorted(value, key=int)]
    elif isinstance(value, list):
        return [_listify(v) for v in value]
    return value


class RequestInvalid(ValueError):
    def __init__(self, message: str, param: str | None) -> None:
        super().__init__(message)
        self.param = param


class StripeSpec:
    def __init__(self, path: Path) -> None:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        with path.open() as handle:
            self.spec: dict[str, Any] = yaml.load(handle, Loader=loader)
        self.components = self.spec.get("components", {})
        # an id never reads "search": /v1/customers/search is the (unlisted) search endpoint, not a retrieve
        self._templates = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "(?!search$)[^/]+", p) + "$"), p) for p in self.spec["paths"]
        ]

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.components["schemas"][name]
        return schema

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        """The spec's operation for a concrete path; a literal path wins over a template (`/search` vs `{id}`)."""
        matches = [template for pattern, template in self._templates if pattern.match(path)]
        matches.sort(key=lambda template: template.count("{"))
        for template in matches[:1]:
            found: dict[str, Any] | None = self.spec["paths"][template].get(method.lower())
            return found
        return None

    def request_schema(self, method: str, path: str) -> dict[str, Any] | None:
        """GET: the query parameters as one object; POST and DELETE: the form body's schema."""
        operation = self.operation(method, path)
        if operation is None:
            return None
        if method.upper() == "GET":  # built once per operation, so its validator is built once too
            built: dict[str, Any] | None = operation.get("x-q2c-query-schema")
            if built is None:
                query = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
                built = operation["x-q2c-query-schema"] = {
                    "type": "object",
                    "properties": {p["name"]: p.get("schema", {}) for p in query},
                    "required": [p["name"] for p in query if p.get("required")],
                    "additionalProperties": False,
                }
            return built
        content = operation.get("requestBody", {}).get("content", {})
        form = content.get("application/x-www-form-urlencoded", {})
        return form.get("schema") or {"type": "object", "properties": {}, "additionalProperties": False}

    def response_errors(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Where a response departs from the spec; objects may carry no field the spec does not name."""
        operation = self.operation(method, path)
        if operation is None:
            return [f"{method} {path} is not in the spec subset"]
        responses = operation.get("responses", {})
        declared = responses.get(str(status)) or responses.get("default") or {}
        schema = declared.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            return [f"{method} {path} declares no JSON body for {status}"]
        document = {**strict_schema(schema), "components": {"schemas": self._strict_components()}}
        validator = jsonschema.Draft4Validator(document)
        return [
            f"{_bracketed(list(e.absolute_path)) or '(body)'}: {e.message[:300]}"
            for e in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path).__repr__())
        ]

    def object_errors(self, body: Any) -> list[str]:
        """For paths the subset leaves out: each object checked against the component its `object` names."""
        if isinstance(body, dict) and body.get("object") in ("list", "search_result"):
            envelope = {"object", "data", "has_more", "url", "next_page", "total_count"}
            found = [f"(body): unexpected field {k!r}" for k in body if k not in envelope]
            return found + [e for item in body.get("data", []) for e in self.object_errors(item)]
        name = body.get("object") if isinstance(body, dict) else None
        if name not in self.components.get("schemas", {}):
            return [f"(body): no schema for object {name!r}"]
        document = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": self._strict_components()}}
        validator = jsonschema.Draft4Validator(document)
        return [
            f"{_bracketed(list(e.absolute_path)) or '(body)'}: {e.message[:300]}" for e in validator.iter_errors(body)
        ]

    def _strict_components(self) -> dict[str, Any]:
        if not hasattr(self, "_strict"):
            self._strict = {name: strict_schema(s) for name, s in self.components.get("schemas", {}).items()}
        return self._strict

    def coerce(self, value: Any, schema: dict[str, Any]) -> Any:
        schema = self._resolve(schema)
        if "anyOf" in schema:
            for option in schema["anyOf"]:
                candidate = self.coerce(value, option)
                if self._validator(id(option), option).is_valid(candidate):
                    return candidate
            return value
        kind = schema.get("type")
        if kind == "array":
            items = schema.get("items", {})
            if isinstance(value, dict) and all(k.isdigit() for k in value):
                value = [value[k] for k in sorted(value, key=int)]
            return [self.coerce(v, items) for v in value] if isinstance(value, list) else value
        if kind == "object" and isinstance(value, dict):
            properties = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            fallback = extra if isinstance(extra, dict) else {}
            return {k: self.coerce(v, properties.get(k, fallback)) for k, v in value.items()}
        if isinstance(value, str):
            if kind == "integer" and re.fullmatch(r"-?\d+", value):
                return int(value)
            if kind == "number" and re.fullmatch(r"-?\d+(\.\d+)?", value):
                return float(value) if "." in value else int(value)
            if kind == "boolean" and value in ("true", "false"):
                return value == "true"
        return value

    def _validator(self, key: int, schema: dict[str, Any]) -> Any:
        return _cached_validator(self, key, schema)

    def validate(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """The typed params, or RequestInvalid with Stripe's wording and the offending param."""
        schema = self.request_schema(method, path)
        if schema is None:
            return params
        typed = self.coerce(params, schema)
        validator = self._validator(id(schema), schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(typed))
        if error is None:
            return typed
        where = _bracketed(list(error.absolute_path))
        if error.validator == "additionalProperties":
            listed = re.search(r"\((.*) (?:was|were) unexpected\)", error.message)
            names = re.findall(r"'([^']+)'", listed.group(1)) if listed else []
            names = names or [str(n) for n in set(error.instance) - set(error.schema.get("properties", {}))] or ["?"]
            param = f"{where}[{names[0]}]" if where else names[0]
            raise RequestInvalid(f"Received unknown parameter: {param}", param)
        if error.validator == "required":
            missing = re.findall(r"'([^']+)' is a required property", error.message) or ["?"]
            param = f"{where}[{missing[0]}]" if where else missing[0]
            raise RequestInvalid(f"Missing required param: {param}.", param)
        raise RequestInvalid(f"Invalid value for {where or 'request'}: {error.message}", where or None)


def strict_schema(schema: Any) -> Any:
    """OpenAPI 3.0 -> JSON Schema draft 4: `nullable` allows null, and an object with declared properties
    allows no others (a field the simulator invents is a finding, not noise)."""
    if isinstance(schema, list):
        return [strict_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {k: strict_schema(v) for k, v in schema.items() if k != "nullable" and not k.startswith("x-")}
    if "properties" in schema and "additionalProperties" not in schema:
        converted["additionalProperties"] = False
    if schema.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


_VALIDATORS: OrderedDict[int, tuple[dict[str, Any], Any]] = OrderedDict()
_MAX_VALIDATORS = 512


def _cached_validator(spec: StripeSpec, key: int, schema: dict[str, Any]) -> Any:
    """A validator per schema object. The entry holds the schema itself, so its id cannot be reused by
    another (a GET's schema is built per request: keyed by id alone, a freed dict's id named another
    endpoint's parameters); least recently used entries go past _MAX_VALIDATORS."""
    cached = _VALIDATORS.get(key)
    if cached is not None and cached[0] is schema:
        _VALIDATORS.move_to_end(key)
        return cached[1]
    validator = jsonschema.Draft4Validator({**schema, "components": spec.components})
    _VALIDATORS[key] = (schema, validator)
    if len(_VALIDATORS) > _MAX_VALIDATORS:
        _VALIDATORS.popitem(last=False)
    return validator


def _bracketed(path: list[Any]) -> str:
    if not path:
        return ""
    return str(path[0]) + "".join(f"[{p}]" for p in path[1:])


@functools.lru_cache(maxsize=2)
def load_spec(path: str) -> StripeSpec:
    return StripeSpec(Path(path))
