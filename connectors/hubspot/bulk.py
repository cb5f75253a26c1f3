"""Many deals in a few requests, for reconciliation at scale: batch reads and v4 batch association reads.

A page of 200 deals costs two deal batch reads (100 ids each), one association read per linked type (up to
1,000 ids: https://developers.hubspot.com/docs/api-reference/latest/crm/associations/association-details/
batch-read-associations), and the linked line items and companies by batch read, each record once however
many deals share it: about a dozen requests, where one deal at a time took four per deal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from connectors.errors import BusinessRuleError
from connectors.hubspot import paging
from connectors.hubspot.mapping import (
    COMPANY_PROPERTIES,
    DEAL_PROPERTIES,
    LINE_PROPERTIES,
    company_from_hubspot,
    line_from_hubspot,
)
from connectors.hubspot.schema import check_values
from models.deal import Deal
from models.party import Customer

if TYPE_CHECKING:
    from connectors.hubspot.client import HubSpotClient

Record = dict[str, Any]
BATCH_READ_MAX = 100  # ids per v3 batch read
ASSOCIATIONS_READ_MAX = 1_000  # ids per v4 batch association read


def build_deal(record: Record, lines: list[Record], company: Customer | None, system: str = "hubspot") -> Deal:
    """The canonical deal from its HubSpot record, line items and company; an invalid one is a business error."""
    p = record["properties"]
    try:
        currency = (p.get("deal_currency_code") or (company.currency if company else "USD")).upper()
        return Deal(
            id=record["id"],
            name=p.get("dealname") or "",
            stage=p.get("dealstage") or "",
            currency=currency,
            close_date=(p.get("closedate") or "")[:10] or None,
            company=company,
            lines=[line_from_hubspot(line, currency) for line in lines],
            properties={k: v for k, v in p.items() if k not in DEAL_PROPERTIES[:6]},
        )
    except (ValidationError, ValueError) as exc:
        raise BusinessRuleError(system, f"deal {record['id']} is not valid: {exc}", code="INVALID_DEAL") from exc


async def read_many(
    client: HubSpotClient, object_type: str, ids: Iterable[str], properties: list[str]
) -> dict[str, Record]:
    """Records by id; an id HubSpot does not find (a 207 error entry) is left out."""
    records = await client.read_batch(object_type, list(dict.fromkeys(ids)), properties, missing_ok=True)
    return {str(r["id"]): r for r in records}


async def linked_many(client: HubSpotClient, from_type: str, ids: list[str], to_type: str) -> dict[str, list[str]]:
    """Each record's associated ids (v4 batch read, each record's own pages followed); none: an empty list."""
    linked: dict[str, list[str]] = {i: [] for i in ids}
    pending: list[Record] = [{"id": i} for i in ids]
    while pending:
        chunk, pending = pending[:ASSOCIATIONS_READ_MAX], pending[ASSOCIATIONS_READ_MAX:]
        response = await client.request(
            "POST",
            f"/crm/v4/associations/{from_type}/{to_type}/batch/read",
            json={"inputs": chunk},
            ok=(200, 207),  # 207: some inputs have no associations (an error entry each)
        )
        for result in client.json(response).get("results", []):
            from_id = str(result["from"]["id"])
            linked.setdefault(from_id, []).extend(str(to["toObjectId"]) for to in result.get("to", []))
            after = paging.next_after(result)
            if after is not None:
                pending.append({"id": from_id, "after": after})
    return {k: list(dict.fromkeys(v)) for k, v in linked.items()}


async def deals_many(
    client: HubSpotClient, deal_ids: list[str], extra_properties: list[str]
) -> dict[str, tuple[Deal, Record, str | None]]:
    """Each deal found, with its raw properties (DEAL_PROPERTIES and `extra_properties`) and company id."""
    for object_type in ("deals", "line_items", "companies"):
        await client.check_schema(object_type)
    records = await read_many(client, "deals", deal_ids, list(dict.fromkeys([*DEAL_PROPERTIES, *extra_properties])))
    ids = [i for i in deal_ids if i in records]
    line_ids = await linked_many(client, "deals", ids, "line_items")
    company_ids = await linked_many(client, "deals", ids, "companies")
    lines = await read_many(client, "line_items", (i for v in line_ids.values() for i in v), LINE_PROPERTIES)
    companies = await read_many(client, "companies", (v[0] for v in company_ids.values() if v), COMPANY_PROPERTIES)
    customers: dict[str, Customer] = {}
    for key, company in companies.items():
        try:
            customers[key] = company_from_hubspot(company)
        except (ValidationError, ValueError) as exc:
            raise BusinessRuleError(
                client.system, f"company {key} is not valid: {exc}", code="INVALID_COMPANY"
            ) from exc
    found: dict[str, tuple[Deal, Record, str | None]] = {}
    for deal_id in ids:
        record = records[deal_id]
        check_values("deals", record)
        mine = [lines[i] for i in line_ids.get(deal_id, []) if i in lines]
        for line in mine:
            check_values("line_items", line)
        company_id = company_ids[deal_id][0] if company_ids.get(deal_id) else None
        extra = set(extra_properties) - set(DEAL_PROPERTIES)  # read for the caller, not part of the deal
        shown = {**record, "properties": {k: v for k, v in record["properties"].items() if k not in extra}}
        deal = build_deal(shown, mine, customers.get(company_id) if company_id else None, client.system)
        found[deal_id] = (deal, record["properties"], company_id)
    return found
