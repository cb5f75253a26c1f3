"""The REST API under `/services/data/vNN.N/`: sObjects, SOQL with `nextRecordsUrl`, composite, collections.

One dispatcher serves both the HTTP routes and composite subrequests, so a subrequest behaves exactly as
the same call on its own would. Unknown routes and methods get Salesforce's error bodies.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from simulators.salesforce.engine import Engine, attributes
from simulators.salesforce.records import Records, SalesforceError
from simulators.salesforce.schema import SOBJECTS, describe
from simulators.salesforce.soql import SoqlError, parse, parse_datetime

VERSIONS = tuple(f"{n}.0" for n in range(50, 63))
Answer = tuple[int, Any]


def not_found() -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")


def not_allowed(method: str, allowed: str) -> SalesforceError:
    return SalesforceError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {allowed}")


class Rest:
    def __init__(self, records: Records, batch_default: int = 2000) -> None:
        self.records, self.batch_default = records, batch_default
        self.cursors: dict[str, list[Any]] = {}

    def dispatch(self, method: str, url: str, body: Any, headers: dict[str, str] | None = None) -> Answer:
        """`url` is the path after the host, query string included."""
        parts = urlsplit(url)
        match = re.fullmatch(r"/services/data/v(\d+\.\d)(/.*)?", parts.path.rstrip("/") or "/")
        if match is None or match.group(1) not in VERSIONS:
            raise not_found()
        version, rest = match.group(1), (match.group(2) or "/").rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        segments = [unquote(s) for s in rest.strip("/").split("/") if s]
        if not segments:
            return 200, {
                "sobjects": f"/services/data/v{version}/sobjects",
                "query": f"/services/data/v{version}/query",
                "composite": f"/services/data/v{version}/composite",
                "limits": f"/services/data/v{version}/limits",
            }
        head = segments[0]
        if head in ("query", "queryAll"):
            return self.query(method, version, segments[1:], query, headers or {})
        if head == "sobjects":
            return self.sobjects(method, version, segments[1:], query, body)
        if head == "composite":
            from simulators.salesforce.composite import collections, composite

            if segments[1:2] == ["sobjects"]:
                return collections(self, method, version, segments[2:], query, body)
            if len(segments) == 1:
                if method != "POST":
                    raise not_allowed(method, "POST")
                return composite(self, version, body)
        raise not_found()

    # ---- sObjects ----
    def sobjects(self, method: str, version: str, path: list[str], query: dict[str, str], body: Any) -> Answer:
        if not path:
            if method != "GET":
                raise not_allowed(method, "GET,HEAD")
            return 200, {
                "encoding": "UTF-8",
                "maxBatchSize": 200,
                "sobjects": [{"name": s.name, "keyPrefix": s.prefix, "queryable": True} for s in SOBJECTS.values()],
            }
        target = self.records.type_of(path[0])
        if len(path) == 1:
            if method == "POST":
                record = self.records.create(target.name, self.body(body))
                return 201, {"id": record["Id"], "success": True, "errors": []}
            if method == "GET":
                return 200, {"objectDescribe": {"name": target.name, "keyPrefix": target.prefix}, "recentItems": []}
            raise not_allowed(method, "GET,HEAD,POST")
        if path[1] == "describe" and len(path) == 2:
            return 200, describe(target, version)
        if path[1] in ("updated", "deleted") and len(path) == 2:
            return self.changes(target.name, path[1], query)
        if len(path) == 2:
            record_id = path[1]
            if method == "GET":
                record = self.records.get(target.name, record_id)
                return 200, self.render(target.name, record, version, query.get("fields"))
            if method == "PATCH":
                self.records.update(target.name, record_id, self.body(body))
                return 204, None
            if method == "DELETE":
                self.records.delete(target.name, record_id)
                return 204, None
            raise not_allowed(method, "GET,HEAD,PATCH,DELETE")
        if len(path) == 3:
            return self.by_external_id(method, version, target.name, path[1], path[2], query, body)
        raise not_found()

    def by_external_id(
        self, method: str, version: str, name: str, field: str, value: str, query: dict[str, str], body: Any
    ) -> Answer:
        found = self.records.by_external_id(name, field, value)
        if len(found) > 1:
            return 300, [f"/services/data/v{version}/sobjects/{name}/{r['Id']}" for r in found]
        if method == "GET":
            if not found:
                raise not_found()
            return 200, self.render(name, found[0], version, query.get("fields"))
        if method == "PATCH":
            values = self.body(body)
            if found:
                record = self.records.update(name, found[0]["Id"], values)
                return 200, {"id": record["Id"], "success": True, "errors": [], "created": False}
            canonical = self.records.type_of(name).field(field)
            record = self.records.create(name, {**values, canonical.name if canonical else field: value})
            return 201, {"id": record["Id"], "success": True, "errors": [], "created": True}
        if method == "DELETE":
            if not found:
                raise not_found()
            self.records.delete(name, found[0]["Id"])
            return 204, None
        raise not_allowed(method, "GET,HEAD,PATCH,DELETE")

    def changes(self, name: str, kind: str, query: dict[str, str]) -> Answer:
        try:
            start, end = parse_datetime(query["start"]), parse_datetime(query["end"])
        except (KeyError, ValueError):
            raise SalesforceError(400, "INVALID_REPLICATION_DATE", "start and end are required date-times") from None
        if kind == "deleted":
            return 200, {
                "deletedRecords": [],
                "earliestDateAvailable": query["start"],
                "latestDateCovered": query["end"],
            }
        ids = [
            r["Id"]
            for r in self.records.store.all("salesforce", name)
            if start <= parse_datetime(r["SystemModstamp"]) < end
        ]
        return 200, {"ids": ids, "latestDateCovered": query["end"]}

    def render(self, name: str, record: dict[str, Any], version: str, fields: str | None) -> dict[str, Any]:
        target = self.records.type_of(name)
        wanted = [f.strip() for f in fields.split(",")] if fields else [f.name for f in target.fields]
        shaped: dict[str, Any] = {"attributes": attributes(name, record["Id"], version)}
        for wanted_name in wanted:
            field = target.field(wanted_name)
            if field is None:
                raise SalesforceError(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{wanted_name}' on entity '{name}'. If you are attempting to use a custom "
                    "field, be sure to append the '__c' after the custom field name.",
                )
            shaped[field.name] = record.get(field.name)
        return shaped

    @staticmethod
    def body(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise SalesforceError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        return body

    # ---- SOQL ----
    def query(
        self, method: str, version: str, path: list[str], query: dict[str, str], headers: dict[str, str]
    ) -> Answer:
        if method != "GET":
            raise not_allowed(method, "GET,HEAD")
        if path:  # a nextRecordsUrl: /query/<locator>-<offset>
            locator, _, offset = path[0].rpartition("-")
            rows = self.cursors.get(locator)
            if rows is None or not offset.isdigit():
                raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            return 200, self.page(version, locator, rows, int(offset), self.batch_size(headers))
        text = query.get("q")
        if not text:
            raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
        try:
            parsed = parse(text)
            rows = Engine(self.records.store, version).run(parsed)
        except SoqlError as error:
            raise SalesforceError(400, error.code, f"\n{text}\n{error}") from None
        if parsed.count:
            return 200, {"totalSize": len(rows), "done": True, "records": []}
        locator = "01g" + secrets.token_hex(6)
        self.cursors[locator] = rows
        return 200, self.page(version, locator, rows, 0, self.batch_size(headers))

    def batch_size(self, headers: dict[str, str]) -> int:
        options = headers.get("sforce-query-options", "")
        match = re.search(r"batchSize=(\d+)", options)
        return min(2000, max(200, int(match.group(1)))) if match else self.batch_default

    def page(self, version: str, locator: str, rows: list[Any], offset: int, size: int) -> dict[str, Any]:
        chunk = rows[offset : offset + size]
        done = offset + size >= len(rows)
        answer: dict[str, Any] = {"totalSize": len(rows), "done": done, "records": chunk}
        if done:
            self.cursors.pop(locator, None)
        else:
            answer["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{offset + size}"
        return answer


def now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
