"""NetSuite SuiteTalk REST: 204 + Location creates, eid: upserts, transforms, paged lists, SuiteQL, async jobs."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Query, Request
from starlette.responses import JSONResponse, Response

from simulators.context import SimContext
from simulators.netsuite import memos, suiteql
from simulators.netsuite.auth import TOKEN_PATH, Gatekeeper
from simulators.netsuite.errors import SYSTEM, NetSuiteError, install_error_handlers, unauthorized
from simulators.netsuite.render import check_names, page, record_view, respond
from simulators.netsuite.rules import RECORDS, Books

Record = dict[str, Any]
Run = Callable[[], Awaitable[Response]]
QUERY = "/services/rest/query/v1/suiteql"
JOBS = "/services/rest/async/v1/job"


def create_app(ctx: SimContext) -> FastAPI:
    app = FastAPI(title="NetSuite REST simulator", openapi_url=None, docs_url=None, redoc_url=None)
    install_error_handlers(app)
    books, gate, store = Books(ctx), Gatekeeper(ctx), ctx.store
    app.state.books, app.state.gate = books, gate

    @app.middleware("http")
    async def login(request: Request, call_next: Any) -> Response:
        if request.url.path.endswith(TOKEN_PATH):
            return await gate.token_endpoint(request)
        if not gate.admits(request, await request.body()):
            return unauthorized()
        response: Response = await call_next(request)
        return response

    def created(record_type: str, record_id: str) -> Response:
        return Response(status_code=204, headers={"Location": books.location(record_type, record_id)})

    async def json_body(request: Request, record_type: str) -> Record:
        raw = await request.body()
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise NetSuiteError(400, "INVALID_CONTENT", "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise NetSuiteError(400, "INVALID_CONTENT", "The request body must be a JSON object.")
        return check_names(record_type, body, request.headers.get("x-netsuite-propertynamevalidation", "Warning"))

    async def maybe_async(request: Request, run: Run) -> Response:
        """`Prefer: respond-async` -> 202 and a job; the idempotency key only applies here."""
        if "respond-async" not in request.headers.get("prefer", ""):
            return await run()
        key = request.headers.get("x-netsuite-idempotency-key")
        earlier = store.find(SYSTEM, "job", "idempotencyKey", key) if key else []
        if earlier:
            return NetSuiteError(
                400, "IDEMPOTENCY_ERROR", "A request with this idempotency key was already submitted."
            ).response(headers={"Location": f"{ctx.base_url(SYSTEM)}{JOBS}/{earlier[0]['id']}"})
        job_id = str(store.next_id("netsuite:job", 1))
        job: Record = {"id": job_id, "completed": True, "idempotencyKey": key}
        try:
            outcome = await run()
            job |= {"progress": "succeeded", "status": outcome.status_code, "location": outcome.headers.get("location")}
        except NetSuiteError as exc:
            job |= {
                "progress": "failed",
                "status": exc.status,
                "error": {"o:errorCode": exc.code, "detail": exc.message},
            }
        store.put(SYSTEM, "job", job_id, job)
        location = f"{ctx.base_url(SYSTEM)}{JOBS}/{job_id}"
        return Response(status_code=202, headers={"Preference-Applied": "respond-async", "Location": location})

    @app.get(JOBS + "/{job_id}")
    async def job(job_id: str) -> Response:
        found = store.get(SYSTEM, "job", job_id)
        if found is None:
            raise NetSuiteError(404, "RCRD_DSNT_EXIST", f"Job {job_id} does not exist.")
        return respond(found)

    @app.post(QUERY)
    async def run_suiteql(request: Request, limit: int = 1000, offset: int = 0) -> Response:
        """https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html"""
        if "transient" not in request.headers.get("prefer", "").lower():
            raise NetSuiteError(
                400, "INVALID_HEADER", "SuiteQL queries need the header Prefer: transient.", errorHeader="Prefer"
            )
        try:
            raw = json.loads(await request.body() or b"{}")
        except ValueError:
            raise NetSuiteError(400, "INVALID_CONTENT", "The request body is not valid JSON.") from None
        query = raw.get("q") if isinstance(raw, dict) else None
        if not isinstance(query, str) or not query.strip():
            raise NetSuiteError(400, "INVALID_CONTENT", 'The request body must be {"q": "SELECT ..."}.', "q")
        if offset >= suiteql.MAX_RESULTS:  # "a maximum of 100,000 results" (the page above)
            message = "SuiteQL returns at most 100,000 results; narrow the query."
            raise NetSuiteError(400, "INVALID_PARAMETER", message, errorQueryParam="offset")
        rows = [{"links": [], **row} for row in suiteql.run(store, query)]
        return respond(page(rows, f"{ctx.base_url(SYSTEM)}{QUERY}", limit, offset))

    @app.get(RECORDS + "/{record_type}")
    async def list_records(record_type: str, limit: int = 1000, offset: int = 0, q: str | None = None) -> Response:
        books.check_type(record_type)
        records = store.all(SYSTEM, record_type)
        if q:  # NetSuite's record-list query: `field IS "v"` or `field START_WITH "v"`
            matches = _list_query(q)
            records = [r for r in records if matches(r)]
        items = [{"links": r.get("links", []), "id": r["id"]} for r in records]
        params = {"q": q} if q else {}
        return respond(page(items, f"{ctx.base_url(SYSTEM)}{RECORDS}/{record_type}", limit, offset, params))

    @app.get(RECORDS + "/{record_type}/{ref}")
    async def read(record_type: str, ref: str, expand: bool = Query(False, alias="expandSubResources")) -> Response:
        books.check_type(record_type)
        record = books.load(record_type, ref)
        return respond(record_view(record, books.location(record_type, record["id"]), expand))

    @app.get(RECORDS + "/{record_type}/{ref}/{sublist}")
    async def read_sublist(record_type: str, ref: str, sublist: str) -> Response:
        books.check_type(record_type)
        record = books.load(record_type, ref)
        if not isinstance(record.get(sublist), dict):
            raise NetSuiteError(404, "NONEXISTENT_RESOURCE", f"Sublist {sublist} does not exist on {record_type}.")
        href = books.location(record_type, record["id"])
        return respond(record_view(record, href, True)[sublist])

    @app.post(RECORDS + "/{record_type}")
    async def create(record_type: str, request: Request) -> Response:
        books.check_type(record_type)
        body = await json_body(request, record_type)

        async def run() -> Response:
            books.check_external_id(record_type, body.get("externalId"))
            record = books.save(record_type, books.write(record_type, {"id": books.new_id(record_type)}, body))
            return created(record_type, record["id"])

        return await maybe_async(request, run)

    @app.put(RECORDS + "/{record_type}/{ref}")
    async def upsert(record_type: str, ref: str, request: Request) -> Response:
        books.check_type(record_type)
        if not ref.startswith("eid:"):
            raise NetSuiteError(400, "INVALID_REQUEST", "Upsert requires an external ID: PUT .../eid:{externalId}.")
        body = await json_body(request, record_type)

        async def run() -> Response:
            existing = books.find(record_type, ref)
            record = existing or {"id": books.new_id(record_type), "externalId": ref.removeprefix("eid:")}
            body.pop("externalId", None)
            record = books.save(record_type, books.write(record_type, record, body))
            return created(record_type, record["id"])

        return await maybe_async(request, run)

    @app.patch(RECORDS + "/{record_type}/{ref}")
    async def update(record_type: str, ref: str, request: Request) -> Response:
        books.check_type(record_type)
        body = await json_body(request, record_type)

        async def run() -> Response:
            record = books.load(record_type, ref)
            books.check_external_id(record_type, body.get("externalId"), record["id"])
            books.save(record_type, books.write(record_type, record, body))
            return Response(status_code=204)

        return await maybe_async(request, run)

    @app.post(RECORDS + "/salesOrder/{ref}/!transform/invoice")
    async def invoice_order(ref: str, request: Request) -> Response:
        body = await json_body(request, "invoice")

        async def run() -> Response:
            return created("invoice", books.invoice_order(ref, body))

        return await maybe_async(request, run)

    @app.post(RECORDS + "/invoice/{ref}/!transform/creditMemo")
    async def credit_invoice(ref: str, request: Request) -> Response:
        body = await json_body(request, "creditMemo")

        async def run() -> Response:
            return created("creditMemo", memos.credit_invoice(books, ref, body))

        return await maybe_async(request, run)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def unknown(path: str) -> JSONResponse:
        raise NetSuiteError(404, "NONEXISTENT_RESOURCE", f"Resource /{path} does not exist.", urlPath=f"/{path}")

    return app


def _list_query(query: str) -> Callable[[Record], bool]:
    match = re.fullmatch(r'\s*(\w+)\s+(IS|START_WITH)\s+"([^"]*)"\s*', query)
    if match is None:
        raise NetSuiteError(400, "INVALID_PARAMETER", f"Invalid query: {query}", errorQueryParam="q")
    field, op, value = match.groups()
    if op == "IS":
        return lambda record: str(record.get(field) or "") == value
    return lambda record: str(record.get(field) or "").startswith(value)
