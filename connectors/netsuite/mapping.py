"""Netsuite records to and from canonical models: every field name of the vendor's, in one place."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from connectors.errors import SchemaDrift
from connectors.netsuite import fields
from connectors.netsuite.currencies import Currencies
from models.common import Region
from models.money import Money
from models.orders import ErpOrder, Invoice, InvoiceStatus, OrderLine, OrderStatus, ReturnOrder, SalesOrder
from models.party import Customer

RECORDS = "/services/rest/record/v1"
SUBSIDIARY_BY_REGION = {Region.NA: "1", Region.EMEA: "2", Region.UK: "3"}
_ORDER_STATUS = {  # `orderStatus` letters, shared by sales orders and return authorizations (in brackets)
    "A": OrderStatus.PENDING_APPROVAL,
    "B": OrderStatus.PENDING_FULFILLMENT,  # Pending Fulfillment (Pending Receipt)
    "D": OrderStatus.PENDING_FULFILLMENT,  # Partially Fulfilled (Partially Received)
    "E": OrderStatus.PENDING_FULFILLMENT,  # Pending Billing/Partially Fulfilled (Pending Refund/Partially Received)
    "F": OrderStatus.PENDING_FULFILLMENT,  # Pending Billing (Pending Refund)
    "G": OrderStatus.BILLED,  # Billed (Refunded)
    "C": OrderStatus.CANCELLED,
    "H": OrderStatus.CLOSED,
}
_INVOICE_STATUS = {"A": InvoiceStatus.OPEN, "B": InvoiceStatus.PAID, "V": InvoiceStatus.VOID}


def customer_to_netsuite(customer: Customer, currencies: Currencies) -> dict[str, Any]:
    address = customer.billing_address
    body: dict[str, Any] = {
        "companyName": customer.legal_name,
        "currency": currencies.ref(customer.currency),
        "subsidiary": {"id": SUBSIDIARY_BY_REGION[customer.region]},
        "defaultTaxReg": customer.tax_registration.number if customer.tax_registration else None,
    }
    if address:
        body["defaultAddress"] = "\n".join(
            p for p in (address.line1, address.line2, address.city, address.postal_code, address.country) if p
        )
    if customer.contacts:  # where NetSuite emails the customer's invoices; none sent leaves the ERP's own alone
        body["email"] = customer.contacts[0].email
    return body


def order_to_netsuite(order: ErpOrder, currencies: Currencies) -> dict[str, Any]:
    """A sales order, or a return authorization of its own (not created from a sale): the same fields."""
    return {
        "entity": {"id": order.customer_id},
        "externalId": order.external_id,
        "tranDate": order.order_date.isoformat(),
        "currency": currencies.ref(order.currency),
        "item": _items(order.lines),
    }


def _items(lines: list[OrderLine]) -> dict[str, Any]:
    return {
        "items": [
            {
                "item": {"id": line.item_id} if line.item_id else {"externalId": line.sku},
                "quantity": str(line.quantity),
                "rate": str(line.rate.amount),
            }
            for line in lines
        ]
    }


def return_order_from_netsuite(record: dict[str, Any], currencies: Currencies) -> ReturnOrder:
    return ReturnOrder(**_order_fields("returnAuthorization", record, currencies))


def _lines_from(record: dict[str, Any], currency: str) -> list[OrderLine]:
    return [
        OrderLine(
            sku=line["item"]["refName"],
            item_id=line["item"]["id"],
            quantity=Decimal(str(line["quantity"])),
            rate=Money(amount=Decimal(line["rate"]), currency=currency),
        )
        for line in record["item"]["items"]
    ]


def order_from_netsuite(record: dict[str, Any], currencies: Currencies) -> SalesOrder:
    return SalesOrder(**_order_fields("salesOrder", record, currencies))


def _order_fields(record_type: str, record: dict[str, Any], currencies: Currencies) -> dict[str, Any]:
    """A sales order's or a return's fields, which NetSuite names alike (a missing or retyped one is SchemaDrift)."""
    record = fields.check(record_type, record)
    currency = currencies.code(record["currency"], record_type)
    return {
        "id": record["id"],
        "number": record.get("tranId"),
        "external_id": record.get("externalId") or "",
        "customer_id": record["entity"]["id"],
        "order_date": date.fromisoformat(record["tranDate"]),
        "currency": currency,
        "lines": _lines_from(record, currency),
        "status": _ORDER_STATUS[record["orderStatus"]["id"]],
        "total": Money(amount=Decimal(record["total"]), currency=currency),
    }


def invoice_from_netsuite(record: dict[str, Any], currencies: Currencies) -> Invoice:
    record = fields.check("invoice", record)
    return Invoice(
        id=record["id"],
        system="erp",
        number=record.get("tranId"),
        external_id=record.get("externalId"),
        status=_INVOICE_STATUS.get(record["status"]["id"], InvoiceStatus.OPEN),
        total=Money(amount=Decimal(record["total"]), currency=currencies.code(record["currency"], "invoice")),
    )


def suiteql_date(value: str) -> date:
    """A SuiteQL date in NetSuite's default date preference (M/D/YYYY); ISO dates are taken as well."""
    if "/" not in value:
        return date.fromisoformat(value[:10])
    month, day, year = (int(part) for part in value.split("/"))
    return date(year, month, day)


def _suiteql_money(row: dict[str, Any], column: str) -> Money:
    """SuiteQL sends numbers as strings: exact Decimals, never floats."""
    try:
        return Money(amount=Decimal(str(row[column])), currency=str(row["currency"]))
    except (KeyError, ArithmeticError) as exc:
        raise SchemaDrift("netsuite", "transaction", column, f"not an amount in a SuiteQL row: {exc!r}") from exc


def order_from_suiteql(row: dict[str, Any]) -> SalesOrder:
    """A sales order's header from a SuiteQL `transaction` row (lines are not read: reconciliation compares
    totals and statuses)."""
    return SalesOrder(
        id=str(row["id"]),
        number=row.get("tranid"),
        external_id=str(row.get("externalid") or ""),
        customer_id=str(row["entity"]),
        order_date=suiteql_date(str(row["trandate"])),
        currency=str(row["currency"]),
        lines=[],
        status=_ORDER_STATUS[str(row["status"])],
        total=_suiteql_money(row, "foreigntotal"),
    )


def invoice_from_suiteql(row: dict[str, Any]) -> Invoice:
    return Invoice(
        id=str(row["id"]),
        system="erp",
        number=row.get("tranid"),
        external_id=row.get("externalid"),
        status=_INVOICE_STATUS.get(str(row.get("status")), InvoiceStatus.OPEN),
        total=_suiteql_money(row, "foreigntotal"),
    )


# synchronised customer attributes (models.customer_sync.FIELDS) -> customer record fields
CUSTOMER_ATTRIBUTES = {"legal_name": "companyName", "tax_registration": "defaultTaxReg", "contacts": "email"}


def saga_orders_query(saga_id: str) -> str:
    """The list query for every record a saga made: their external ids are `<saga id>:<step>`."""
    return f'externalId START_WITH "{saga_id}:"'
