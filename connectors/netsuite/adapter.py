"""NetSuite as q2c's ERP: the client's records as canonical orders, invoices and customers."""

from __future__ import annotations

from typing import Any

from connectors.adapter import Adapter
from connectors.netsuite.client import NetSuiteClient
from connectors.netsuite.mapping import (
    CUSTOMER_ATTRIBUTES,
    invoice_from_suiteql,
    order_from_suiteql,
    saga_orders_query,
)
from models.orders import Invoice, ReturnOrder, SalesOrder
from models.party import CreditPosition, Customer
from models.records import ErpCatalog


def _field(attribute: str) -> str:
    if attribute not in CUSTOMER_ATTRIBUTES:
        raise ValueError(f"netsuite customers hold no attribute {attribute!r}")
    return CUSTOMER_ATTRIBUTES[attribute]


class NetSuiteErp(Adapter[NetSuiteClient]):
    name = "netsuite"

    async def resolve_catalog(self, skus: list[str]) -> ErpCatalog:
        items, tiers = await self.client.resolve_catalog(skus)
        return ErpCatalog(items=items, tiers=tiers)

    async def upsert_customer(self, customer: Customer) -> str:
        return await self.client.upsert_customer(customer)

    async def credit_position(self, customer_ref: str) -> CreditPosition:
        return await self.client.credit_position(customer_ref)

    async def create_sales_order(self, order: SalesOrder) -> SalesOrder:
        return await self.client.create_sales_order(order)

    async def get_sales_order(self, ref: str) -> SalesOrder:
        return await self.client.get_sales_order(ref)

    async def close_sales_order(self, ref: str, reason: str) -> SalesOrder:
        return await self.client.cancel_or_close_order(ref, reason)

    async def invoice_order(self, order_id: str, external_id: str, item_ids: list[str] | None = None) -> Invoice:
        return await self.client.invoice_order(order_id, external_id, item_ids)

    async def get_invoice(self, ref: str) -> Invoice:
        return await self.client.get_invoice(ref)

    async def find_invoice(self, external_id: str) -> Invoice | None:
        found = await self.client.find("invoice", f"eid:{external_id}")
        return await self.client.invoice_from(found) if found else None

    async def credit_invoice(self, invoice_id: str, external_id: str, reason: str) -> str:
        return await self.client.credit_invoice(invoice_id, external_id, reason)

    async def create_return_order(self, order: ReturnOrder) -> ReturnOrder:
        return await self.client.create_return_order(order)

    async def cancel_return_order(self, ref: str, reason: str) -> ReturnOrder:
        return await self.client.cancel_return_order(ref, reason)

    async def orders_for(self, saga_id: str) -> list[SalesOrder]:
        found = await self.client.records_where("salesOrder", saga_orders_query(saga_id))
        return [await self.client.order_from(record) for record in found]

    async def orders_for_sagas(self, saga_ids: list[str]) -> dict[str, list[SalesOrder]]:
        """Every order of many sagas by SuiteQL (one query per 200 sagas), headers only: no lines."""
        rows = await self.client.by_external_ids(["salesOrder"], prefixes=[f"{w}:" for w in saga_ids])
        found: dict[str, list[SalesOrder]] = {}
        for row in rows:  # saga ids hold no colon: `<saga id>:<step>`
            found.setdefault(str(row["externalid"]).partition(":")[0], []).append(order_from_suiteql(row))
        return found

    async def find_invoices(self, external_ids: list[str]) -> dict[str, Invoice]:
        rows = await self.client.by_external_ids(["invoice"], exact=external_ids)
        return {str(row["externalid"]): invoice_from_suiteql(row) for row in rows}

    async def read_customer_attribute(self, customer_id: str, attribute: str) -> str | None:
        field = _field(attribute)
        record: dict[str, Any] = await self.client.get("customer", f"eid:{customer_id}")
        value = record.get(field)
        return None if value is None else str(value)

    async def write_customer_attribute(self, customer_id: str, attribute: str, value: str | None) -> None:
        await self.client.update_customer(customer_id, {_field(attribute): value})
