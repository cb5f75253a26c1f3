"""A renewal Opportunity with its products, in one all-or-none composite call, once per q2c deal key.

Salesforce prices an Opportunity's products through price book entries: each OpportunityLineItem names the
PricebookEntry of its product in the Opportunity's price book and currency, and carries its own sales price
(`UnitPrice`, here the renewal term's uplifted price). The Opportunity is upserted by `Q2C_Deal_Key__c` (an
external id field an admin creates) and its lines reference it (`@{renewal.id}`); with `allOrNone` either
both exist or neither does, so a retry that finds the key finds the lines too and adds nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from connectors.errors import BusinessRuleError
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.mapping import FREQUENCY, soql_literal
from models.deal import DealLine

DEAL_KEY = "Q2C_Deal_Key__c"
RENEWAL_TYPE = "Renewal"
RENEWAL_STAGE = "Prospecting"  # the first open stage: the renewal is pipeline, not won
MAX_LINES = 24  # a composite request holds 25 subrequests: the Opportunity and its lines
_PICKLIST = {frequency: value for value, frequency in FREQUENCY.items() if value}


async def existing(client: SalesforceClient, key: str) -> str | None:
    found = await client.query(f"SELECT Id FROM Opportunity WHERE {DEAL_KEY} = '{soql_literal(key)}' LIMIT 1")
    return str(found[0]["Id"]) if found else None


async def standard_entries(client: SalesforceClient, currency: str, skus: list[str]) -> dict[str, dict[str, Any]]:
    """SKU -> its active entry in the standard price book in this currency (Id, Pricebook2Id)."""
    codes = ", ".join(f"'{soql_literal(sku)}'" for sku in sorted(set(skus)))
    records = await client.query(
        "SELECT Id, Pricebook2Id, ProductCode FROM PricebookEntry WHERE Pricebook2.IsStandard = true "
        f"AND IsActive = true AND CurrencyIsoCode = '{soql_literal(currency)}' AND ProductCode IN ({codes})"
    )
    return {str(r["ProductCode"]): r for r in records}


async def open_renewal(
    client: SalesforceClient,
    account_id: str,
    name: str,
    close_date: date,
    currency: str,
    lines: list[DealLine],
    key: str,
) -> str:
    """The renewal Opportunity's id: the one this key already made, or a new one with its line items."""
    if (found := await existing(client, key)) is not None:
        return found
    if len(lines) > MAX_LINES:
        raise BusinessRuleError(client.system, f"renewal {key}: {len(lines)} lines, over {MAX_LINES} in one call")
    entries = await standard_entries(client, currency, [line.sku for line in lines])
    missing = sorted({line.sku for line in lines} - set(entries))
    if missing:
        raise BusinessRuleError(
            client.system,
            f"renewal {key}: no active standard price book entry in {currency} for {', '.join(missing)}",
            code="NO_PRICEBOOK_ENTRY",
        )
    pricebooks = {str(e["Pricebook2Id"]) for e in entries.values()}
    opportunity: dict[str, Any] = {
        "Name": name,
        "AccountId": account_id,
        "Type": RENEWAL_TYPE,
        "StageName": RENEWAL_STAGE,
        "CloseDate": close_date.isoformat(),
        "CurrencyIsoCode": currency,
    }
    if len(pricebooks) == 1:
        opportunity["Pricebook2Id"] = pricebooks.pop()
    requests: list[dict[str, Any]] = [
        {
            "method": "PATCH",
            "url": f"{client.data}/sobjects/Opportunity/{DEAL_KEY}/{quote(key, safe='')}",
            "referenceId": "renewal",
            "body": opportunity,
        }
    ]
    for n, line in enumerate(lines):
        item: dict[str, Any] = {
            "OpportunityId": "@{renewal.id}",
            "PricebookEntryId": entries[line.sku]["Id"],
            "Quantity": str(line.quantity),  # Salesforce reads numbers sent as JSON strings; no float on the way
            "UnitPrice": str(line.unit_price.amount),
            "Billing_Frequency__c": _PICKLIST.get(line.frequency),
        }
        if line.start_date is not None:
            item["ServiceDate"] = line.start_date.isoformat()
        requests.append(
            {
                "method": "POST",
                "url": f"{client.data}/sobjects/OpportunityLineItem",
                "referenceId": f"line{n}",
                "body": item,
            }
        )
    answer = await client.call("POST", "/composite", json={"allOrNone": True, "compositeRequest": requests})
    subresponses = answer.get("compositeResponse", [])
    client.raise_failed(subresponses, "renewal")
    return str(subresponses[0]["body"]["id"])
