"""Composite requests and sObject collections: many operations in one call, all-or-none when asked.

`POST /composite` runs up to 25 subrequests in order, `@{ref.field}` in a later url or body naming an
earlier result; each subresponse has its own `httpStatusCode`. With `allOrNone`, one failure rolls every
write back and the others answer `PROCESSING_HALTED`. Collections (`/composite/sobjects`, 200 records) answer
one `{id, success, errors}` per record, where an error carries `statusCode` rather than `errorCode`.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from simulators.salesforce.records import SalesforceError

if TYPE_CHECKING:
    from simulators.salesforce.rest import Answer, Rest

HALTED = {
    "errorCode": "PROCESSING_HALTED",
    "message": "The transaction was rolled back since another operation in the same transaction failed.",
}


def composite(rest: Rest, version: str, body: Any) -> Answer:
    requests = body.get("compositeRequest") if isinstance(body, dict) else None
    if not isinstance(requests, list) or not requests:
        raise SalesforceError(400, "JSON_PARSER_ERROR", "compositeRequest is required")
    if len(requests) > 25:
        raise SalesforceError(400, "LIMIT_EXCEEDED", "Maximum number of subrequests allowed is 25")
    all_or_none = bool(body.get("allOrNone"))
    results: dict[str, Any] = {}
    answers: list[dict[str, Any]] = []
    journal: list[Any] = []
    rest.records.journal = journal
    failed = False
    try:
        for request in requests:
            reference = request.get("referenceId", "")
            if failed and all_or_none:
                answers.append({"body": [HALTED], "httpHeaders": {}, "httpStatusCode": 400, "referenceId": reference})
                continue
            try:
                url = substitute(request.get("url", ""), results)
                sub_body = json.loads(substitute(json.dumps(request.get("body")), results))
                status, answer = rest.dispatch(request.get("method", "GET").upper(), url, sub_body)
            except SalesforceError as error:
                status, answer = error.status, error.body()
                failed = True
            results[reference] = answer
            headers = {"Location": f"/services/data/v{version}/sobjects/{answer['id']}"} if status == 201 else {}
            answers.append({"body": answer, "httpHeaders": headers, "httpStatusCode": status, "referenceId": reference})
        if failed and all_or_none:
            rest.records.rollback(journal)
            for answer in answers:
                if answer["httpStatusCode"] < 400:
                    answer.update(body=[HALTED], httpStatusCode=400, httpHeaders={})
    finally:
        rest.records.journal = None
    return 200, {"compositeResponse": answers}


def substitute(text: str, results: dict[str, Any]) -> str:
    """`@{NewAccount.id}` or `@{Query.records[0].Id}` becomes the earlier subresponse's value."""

    def value(match: re.Match[str]) -> str:
        reference, _, path = match.group(1).partition(".")
        if reference not in results:
            raise SalesforceError(400, "INVALID_REFERENCE", f"Invalid reference specified: {reference}")
        current: Any = results[reference]
        for step in re.findall(r"[^.\[\]]+|\[\d+\]", path):
            current = current[int(step[1:-1])] if step.startswith("[") else current.get(step)
        return str(current)

    return re.sub(r"@\{([^}]+)\}", value, text)


def collections(rest: Rest, method: str, version: str, path: list[str], query: dict[str, str], body: Any) -> Answer:
    if method == "GET":
        if not path:
            raise SalesforceError(400, "INVALID_TYPE", "an sObject type is required")
        found: list[Any] = []
        for record_id in query.get("ids", "").split(","):
            try:
                found.append(rest.render(path[0], rest.records.get(path[0], record_id), version, query.get("fields")))
            except SalesforceError as error:
                if error.status != 404:
                    raise
                found.append(None)
        return 200, found
    if method == "DELETE":
        ids = query.get("ids", "").split(",")
        return 200, run_all(rest, query.get("allOrNone") == "true", [(None, i) for i in ids], "DELETE")
    records = body.get("records") if isinstance(body, dict) else None
    if method not in ("POST", "PATCH") or not isinstance(records, list):
        raise SalesforceError(400, "JSON_PARSER_ERROR", "records is required")
    if len(records) > 200:
        raise SalesforceError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records")
    return 200, run_all(rest, bool(body.get("allOrNone")), [(r, r.get("id") or r.get("Id")) for r in records], method)


def run_all(rest: Rest, all_or_none: bool, items: list[tuple[Any, Any]], method: str) -> list[dict[str, Any]]:
    journal: list[Any] = []
    rest.records.journal = journal
    answers: list[dict[str, Any]] = []
    try:
        for record, record_id in items:
            try:
                if method == "DELETE":
                    name = rest.records.type_name_of(record_id)
                    rest.records.delete(name, record_id)
                    answers.append({"id": record_id, "success": True, "errors": []})
                    continue
                name = (record.get("attributes") or {}).get("type", "")
                values = {k: v for k, v in record.items() if k not in ("attributes", "id", "Id")}
                if method == "POST":
                    created = rest.records.create(name, values)
                    answers.append({"id": created["Id"], "success": True, "errors": []})
                else:
                    rest.records.update(name, str(record_id), values)
                    answers.append({"id": record_id, "success": True, "errors": []})
            except SalesforceError as error:
                answers.append(
                    {
                        "success": False,
                        "errors": [{"statusCode": error.code, "message": error.message, "fields": error.fields}],
                    }
                )
        if all_or_none and any(not a["success"] for a in answers):
            rest.records.rollback(journal)
            for answer in answers:
                if answer["success"]:
                    answer.update(
                        success=False,
                        errors=[
                            {
                                "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                "message": "Record rolled back "
                                "because not all records were valid and the request was using AllOrNone header",
                                "fields": [],
                            }
                        ],
                    )
                    answer.pop("id", None)
    finally:
        rest.records.journal = None
    return answers
