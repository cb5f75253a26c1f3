"""Salesforce REST (`/services/data/vNN.N`): one SOQL round trip per deal, composite milestone writes,
keyset-paged sweeps, and an adaptive throttle on the org's daily API allocation.

Salesforce counts every call against a rolling 24-hour allocation and says how much is used in
`Sforce-Limit-Info: api-usage=N/M` on each response. Past `limit_share` of it the client spaces its calls
out; at 98% it stops calling and retries later, leaving the rest to the org's people and other integrations.
Exhaustion is `403 REQUEST_LIMIT_EXCEEDED`, which is a rate limit, not a permission problem.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import httpx
from pydantic import ValidationError

from connectors.errors import BusinessRuleError, ConnectorError, NotFound, RateLimited, SchemaDrift, Unauthorized
from connectors.http import VendorClient
from connectors.salesforce.auth import SessionAuth
from connectors.salesforce.mapping import (
    MILESTONE_FIELDS,
    deal_from_salesforce,
    opportunities_query,
    opportunity_query,
    soql_literal,
)
from connectors.settings import SalesforceSettings
from models.deal import Deal

MAX_PACE_S = 2.0
STOP_SHARE = 0.98
LIMIT_RETRY_S = 900.0  # a spent allocation frees up as the 24-hour window rolls on
DRIFT_CODES = ("INVALID_FIELD", "INVALID_FIELD_FOR_INSERT_UPDATE", "NO_SUCH_COLUMN")
# the fields q2c needs, checked once per process against describe, so a renamed field parks the saga
REQUIRED = {
    "Opportunity": {"StageName": "picklist", "Amount": "currency", **{f: "string" for f in MILESTONE_FIELDS.values()}},
    "OpportunityLineItem": {"Quantity": "double", "UnitPrice": "currency", "Billing_Frequency__c": "picklist"},
    "Account": {"VAT_Number__c": "string", "Region__c": "picklist"},
}
_TEXT = {"string", "textarea", "picklist", "email", "phone", "url"}
_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")


OPPORTUNITIES_PER_QUERY = 200  # a reconciliation page in one query


def record_id(obj: str, value: str) -> str:
    """A well-formed 15- or 18-character id; any other cannot exist, so it is not found (Salesforce would
    refuse it in SOQL as a bad filter, which is the caller's mistake, not the record's absence)."""
    if not _ID.fullmatch(value):
        raise NotFound("salesforce", f"{obj} {value!r} is not a Salesforce id", code="NOT_FOUND", status=404)
    return value


class SalesforceClient(VendorClient):
    system: ClassVar[str] = "salesforce"

    def __init__(self, settings: SalesforceSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(settings, transport)
        self.sf = settings
        self.login = SessionAuth(settings)
        self._http.auth = self.login
        self._http.event_hooks["response"].append(self._observe)
        self.data = f"/services/data/v{settings.api_version}"
        self.used, self.allowed = 0, 0
        self._checked: set[str] = set()

    def auth_headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    # ---- the daily allocation ----
    async def _observe(self, response: httpx.Response) -> None:
        match = re.search(r"api-usage=(\d+)/(\d+)", response.headers.get("sforce-limit-info", ""))
        if match:
            self.used, self.allowed = int(match.group(1)), int(match.group(2))

    def pace(self) -> float:
        """Seconds to wait before the next call: none below `limit_share` of the allocation, growing to
        MAX_PACE_S as usage nears STOP_SHARE."""
        if not self.allowed:
            return 0.0
        share = self.used / self.allowed
        if share >= STOP_SHARE:
            raise RateLimited(
                self.system,
                f"api-usage {self.used}/{self.allowed}: holding back the last {100 - STOP_SHARE * 100:.0f}%",
                retry_after=LIMIT_RETRY_S,
                code="REQUEST_LIMIT_NEAR",
            )
        floor = self.sf.limit_share
        return 0.0 if share < floor else MAX_PACE_S * (share - floor) / (STOP_SHARE - floor)

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        delay = self.pace()
        if delay:
            await asyncio.sleep(delay)
        response = await self.request(method, self.data + path, **kwargs)
        return None if response.status_code == 204 or not response.content else self.decoded(response)

    # ---- errors ----
    def vendor_error(self, response: httpx.Response) -> tuple[str | None, str]:
        body = self.body(response)
        if isinstance(body, list) and body and isinstance(body[0], dict):
            return body[0].get("errorCode"), str(body[0].get("message") or "")
        if isinstance(body, dict) and body.get("error"):  # OAuth's shape
            return str(body["error"]), str(body.get("error_description") or "")
        return None, response.text[:300] or response.reason_phrase

    def classify(self, response: httpx.Response, what: str) -> ConnectorError:
        code, message = self.vendor_error(response)
        if response.status_code == 403 and code == "REQUEST_LIMIT_EXCEEDED":
            return RateLimited(self.system, f"{what} -> 403: {message}", retry_after=LIMIT_RETRY_S, code=code)
        if response.status_code == 401 and self.login.refusal:
            return Unauthorized(self.system, f"{what}: {self.login.refusal}", code="oauth", status=401)
        if response.status_code == 400 and code in DRIFT_CODES:
            found = re.search(r"column '([^']+)' on (?:entity|sobject of type) '?(\w+)", message)
            field, obj = (found.group(1), found.group(2)) if found else ("?", what)
            return SchemaDrift(self.system, obj, field, message, status=400)
        return super().classify(response, what)

    def raise_from(self, status: int, body: Any, what: str) -> None:
        """A composite subresponse's failure, classified as the same call on its own would be."""
        response = httpx.Response(status, json=body, request=httpx.Request("POST", self.data + "/composite"))
        raise self.classify(response, what)

    # ---- schema ----
    async def check_schema(self, obj: str) -> None:
        if obj in self._checked:
            return
        described = await self.call("GET", f"/sobjects/{obj}/describe")
        types = {f["name"]: f["type"] for f in described.get("fields", [])}
        for field, expected in REQUIRED[obj].items():
            if field not in types:
                raise SchemaDrift(self.system, obj, field, "missing: create it or map q2c to its new name")
            actual = types[field]
            if actual != expected and not (expected in _TEXT and actual in _TEXT):
                raise SchemaDrift(self.system, obj, field, f"is {actual}, q2c needs {expected}")
        self._checked.add(obj)

    # ---- reads ----
    async def query_pages(self, soql: str) -> AsyncIterator[list[dict[str, Any]]]:
        """SOQL results a batch at a time, following `nextRecordsUrl` until `done`."""
        page = await self.call("GET", "/query", params={"q": soql})
        while True:
            yield list(page.get("records") or [])
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                return
            page = await self.call("GET", str(page["nextRecordsUrl"]).removeprefix(self.data))

    async def query(self, soql: str) -> list[dict[str, Any]]:
        return [record async for page in self.query_pages(soql) for record in page]

    async def get_deal(self, opportunity_id: str) -> Deal:
        for obj in REQUIRED:
            await self.check_schema(obj)
        found = await self.query(opportunity_query(record_id("Opportunity", opportunity_id)))
        if not found:
            raise NotFound(self.system, f"Opportunity {opportunity_id} does not exist", code="NOT_FOUND", status=404)
        try:
            return deal_from_salesforce(found[0])
        except (ValidationError, ValueError) as exc:
            raise BusinessRuleError(
                self.system, f"deal {opportunity_id} is not valid: {exc}", code="INVALID_DEAL"
            ) from exc

    async def opportunities(self, opportunity_ids: list[str], extra_fields: tuple[str, ...]) -> list[dict[str, Any]]:
        """Many opportunities with their account, lines and contact roles: one SOQL query per OPPORTUNITIES_PER_QUERY
        (well within SOQL's 100,000-character statement limit); ids that cannot exist are left out."""
        for obj in REQUIRED:
            await self.check_schema(obj)
        wanted = [i for i in dict.fromkeys(opportunity_ids) if _ID.fullmatch(i)]
        found: list[dict[str, Any]] = []
        for start in range(0, len(wanted), OPPORTUNITIES_PER_QUERY):
            chunk = wanted[start : start + OPPORTUNITIES_PER_QUERY]
            found += await self.query(opportunities_query(chunk, extra_fields))
        return found

    async def opportunity_fields(self, opportunity_id: str, fields: list[str]) -> dict[str, Any]:
        return dict(
            await self.call("GET", f"/sobjects/Opportunity/{opportunity_id}", params={"fields": ",".join(fields)})
        )

    async def closed_won_page(
        self, after: str | None, limit: int, since: str | None, until: str | None
    ) -> tuple[list[str], str | None]:
        """Won opportunities closed, or changed, within [since, until]: keyset-paged by Id. A lost trigger is
        found by `SystemModstamp` even when the close date says another day."""
        where = ["IsWon = true"]
        if since or until:
            closed = [f"CloseDate >= {since}" if since else "", f"CloseDate <= {until}" if until else ""]
            changed = [
                f"SystemModstamp >= {since}T00:00:00Z" if since else "",
                f"SystemModstamp <= {until}T23:59:59Z" if until else "",
            ]
            where.append(
                "((" + " AND ".join(c for c in closed if c) + ") OR (" + " AND ".join(c for c in changed if c) + "))"
            )
        if after:
            where.append(f"Id > '{soql_literal(after)}'")
        records = await self.query(
            f"SELECT Id FROM Opportunity WHERE {' AND '.join(where)} ORDER BY Id LIMIT {limit + 1}"
        )
        ids = [str(r["Id"]) for r in records]
        return ids[:limit], (ids[limit - 1] if len(ids) > limit else None)

    async def account_field(self, account_id: str, field: str) -> Any:
        path = f"/sobjects/Account/{record_id('Account', account_id)}"
        return (await self.call("GET", path, params={"fields": field})).get(field)

    async def primary_contact(self, account_id: str) -> dict[str, Any] | None:
        found = await self.query(
            f"SELECT Id, Email FROM Contact WHERE AccountId = '{record_id('Account', account_id)}' "
            "ORDER BY CreatedDate LIMIT 1"
        )
        return found[0] if found else None

    # ---- writes ----
    async def update(self, obj: str, value: str, fields: dict[str, Any]) -> None:
        await self.call("PATCH", f"/sobjects/{obj}/{record_id(obj, value)}", json=fields)

    async def write_milestones(
        self, opportunity_id: str, fields: dict[str, Any], account: tuple[str, dict[str, Any]] | None
    ) -> None:
        """The opportunity's milestones (and its account's ERP id) in one all-or-none composite call."""
        await self.check_schema("Opportunity")
        requests = [
            {
                "method": "PATCH",
                "url": f"{self.data}/sobjects/Opportunity/{opportunity_id}",
                "referenceId": "deal",
                "body": fields,
            }
        ]
        if account:
            requests.append(
                {
                    "method": "PATCH",
                    "url": f"{self.data}/sobjects/Account/{account[0]}",
                    "referenceId": "account",
                    "body": account[1],
                }
            )
        answer = await self.call("POST", "/composite", json={"allOrNone": True, "compositeRequest": requests})
        self.raise_failed(answer.get("compositeResponse", []), "PATCH")

    def raise_failed(self, subresponses: list[dict[str, Any]], what: str) -> None:
        """The first failed subresponse of an all-or-none composite (the others only say PROCESSING_HALTED)."""
        for sub in subresponses:
            status = int(sub.get("httpStatusCode", 500))
            body = sub.get("body")
            halted = isinstance(body, list) and body and body[0].get("errorCode") == "PROCESSING_HALTED"
            if status >= 400 and not halted:
                self.raise_from(status, body, f"{what} {sub.get('referenceId')} (composite)")
