"""NetSuite's business rules for the records q2c touches: customers, sales orders, invoices, credit memos and
return authorizations.

Amounts are kept as exact decimal strings in the store; `render` shows them as JSON numbers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from simulators.context import SimContext
from simulators.netsuite.currencies import SUBSIDIARY_CURRENCY, resolve
from simulators.netsuite.errors import SYSTEM, NetSuiteError
from simulators.netsuite.returns import write_return

Record = dict[str, Any]
RECORDS = "/services/rest/record/v1"
RECORD_TYPES = ("customer", "salesOrder", "invoice", "creditMemo", "returnAuthorization", "nonInventorySaleItem")
TAX_REGISTRATION_REQUIRED = {"2", "3"}  # EMEA and UK subsidiaries
ORDER_STATUS = {
    "A": "Pending Approval",
    "B": "Pending Fulfillment",
    "C": "Cancelled",
    "F": "Pending Billing",
    "G": "Billed",
    "H": "Closed",
}
_READ_ONLY = ("id", "links", "balance", "overdueBalance", "unbilledOrders", "lastModifiedDate")


def money(value: Any) -> Decimal:
    return Decimal(str(value or 0))


class Books:
    """The account's records and the rules that keep them consistent."""

    def __init__(self, ctx: SimContext) -> None:
        self.ctx, self.store = ctx, ctx.store

    def location(self, record_type: str, record_id: str) -> str:
        return f"{self.ctx.base_url(SYSTEM)}{RECORDS}/{record_type}/{record_id}"

    @staticmethod
    def check_type(record_type: str) -> None:
        if record_type not in RECORD_TYPES:
            raise NetSuiteError(404, "INVALID_RCRD_TYPE", f"Record type '{record_type}' does not exist.")

    def find(self, record_type: str, ref: str) -> Record | None:
        if ref.startswith("eid:"):
            hits = self.store.find(SYSTEM, record_type, "externalId", ref.removeprefix("eid:"))
            return hits[0] if hits else None
        return self.store.get(SYSTEM, record_type, ref)

    def load(self, record_type: str, ref: str) -> Record:
        record = self.find(record_type, ref)
        if record is None:
            raise NetSuiteError(404, "RCRD_DSNT_EXIST", f"Record {record_type} with ID {ref} does not exist.")
        return record

    @staticmethod
    def ref_id(value: Any, field: str) -> str:
        if isinstance(value, dict) and ("id" in value or "externalId" in value):
            return str(value["id"]) if "id" in value else f"eid:{value['externalId']}"
        if isinstance(value, str | int):
            return str(value)
        raise NetSuiteError(400, "INVALID_CONTENT", f"Invalid value for {field}: expected a reference", field)

    def save(self, record_type: str, record: Record) -> Record:
        record["links"] = [{"rel": "self", "href": self.location(record_type, record["id"])}]
        record["lastModifiedDate"] = datetime.now(UTC).isoformat(timespec="seconds")
        return self.store.put(SYSTEM, record_type, record["id"], record)

    def new_id(self, record_type: str) -> str:
        return str(self.store.next_id(f"netsuite:{record_type}", 100))

    def check_external_id(self, record_type: str, external_id: str | None, own_id: str | None = None) -> None:
        for other in self.store.find(SYSTEM, record_type, "externalId", external_id) if external_id else []:
            if other["id"] != own_id:
                raise NetSuiteError(
                    400,
                    "DUP_RCRD",
                    f"A {record_type} record with external ID {external_id} already exists.",
                    "externalId",
                )

    def _adjust(self, customer: Record, field: str, delta: Decimal) -> None:
        customer[field] = str(money(customer.get(field)) + delta)

    def move_balance(self, customer_id: str, delta: Decimal) -> None:
        customer = self.load("customer", customer_id)
        self._adjust(customer, "balance", delta)
        self.save("customer", customer)

    def transformed(self, record_type: str, prefix: str, source: Record, body: Record) -> Record:
        """A record made by transforming `source`: its header (customer, currency) comes from it."""
        record_id = self.new_id(record_type)
        return {
            "id": record_id,
            "tranId": f"{prefix}{record_id}",
            "externalId": body.get("externalId"),
            "entity": source["entity"],
            "createdFrom": {"id": source["id"], "refName": source["tranId"]},
            "currency": source["currency"],
            "tranDate": body.get("tranDate") or date.today().isoformat(),
            "memo": body.get("memo"),
        }

    # ---- writes ----
    def write(self, record_type: str, record: Record, body: Record) -> Record:
        if record_type == "customer":
            return self._customer(record, body)
        if record_type == "salesOrder":
            status = (body.pop("orderStatus", None) or {}).get("id")
            if body.get("item") or "orderStatus" not in record:
                record = self._sales_order(record, body)
            else:
                record.update({k: v for k, v in body.items() if k in ("memo", "externalId")})
            if status:
                self._change_order_status(record, status)
            return record
        if record_type == "nonInventorySaleItem":
            record.update(body)
            return record
        if record_type == "returnAuthorization":
            return write_return(self, record, body)
        raise NetSuiteError(  # NetSuite creates invoices and credit memos on their own too; q2c never asks to
            400, "USER_ERROR", f"This simulator creates {record_type} records only by transforming another record."
        )

    def _customer(self, record: Record, body: Record) -> Record:
        if body.get("currency") is not None:  # null leaves the subsidiary's base currency (below)
            body = {**body, "currency": resolve(body["currency"])}
        record.update({k: v for k, v in body.items() if k not in _READ_ONLY})
        if not record.get("companyName"):
            raise NetSuiteError(400, "USER_ERROR", "Please enter value(s) for: Company Name", "companyName")
        for field in ("balance", "overdueBalance", "unbilledOrders"):
            record.setdefault(field, "0")
        record.setdefault("isInactive", False)
        record.setdefault("subsidiary", {"id": "1"})
        if not record.get("currency"):  # a customer's primary currency defaults to its subsidiary's base currency
            record["currency"] = resolve({"id": SUBSIDIARY_CURRENCY.get(str(record["subsidiary"].get("id")), "1")})
        record.setdefault("entityId", f"CUST{record['id']}")
        return record

    def customer_of(self, body: Record) -> Record:
        """The transaction's customer (`entity`), which must exist, be active and carry what its subsidiary needs."""
        customer = self.find("customer", self.ref_id(body.get("entity"), "entity")) if body.get("entity") else None
        if customer is None:
            raise NetSuiteError(
                400, "INVALID_KEY_OR_REF", f"Invalid entity reference key {body.get('entity')}.", "entity"
            )
        if customer.get("isInactive"):
            raise NetSuiteError(400, "USER_ERROR", f"Customer {customer['entityId']} is inactive.", "entity")
        subsidiary = str((customer.get("subsidiary") or {}).get("id", "1"))
        if subsidiary in TAX_REGISTRATION_REQUIRED and not customer.get("defaultTaxReg"):
            raise NetSuiteError(
                400,
                "USER_ERROR",
                "Tax registration number is required for customers of this subsidiary.",
                "entity.defaultTaxReg",
            )
        return customer

    def priced_lines(self, body: Record) -> tuple[list[Record], Decimal]:
        """The item sublist priced (quantity x rate to the cent) and its total, which may not be negative:
        "The total cannot be negative" (NetSuite Help, Troubleshooting Negative Total Error, section_164206526447)."""
        items = (body.get("item") or {}).get("items") or []
        if not items:
            raise NetSuiteError(
                400, "USER_ERROR", "You must enter at least one line item for this transaction.", "item"
            )
        lines, total = [], Decimal(0)
        for index, line in enumerate(items):
            where = f"item.items[{index}].item"
            item = self.find("nonInventorySaleItem", self.ref_id(line.get("item"), where))
            if item is None:
                raise NetSuiteError(
                    400,
                    "INVALID_CONTENT",
                    "Error while accessing resource: You have entered an Invalid Field Value "
                    f"{line.get('item')} for the following field: item",
                    where,
                )
            quantity, rate = money(line.get("quantity", 1)), money(line.get("rate"))
            amount = (quantity * rate).quantize(Decimal("0.01"))
            total += amount
            lines.append(
                {
                    "item": {"id": item["id"], "refName": item["itemId"]},
                    "quantity": str(quantity),
                    "rate": str(rate),
                    "amount": str(amount),
                    "description": line.get("description"),
                }
            )
        if total < 0:
            raise NetSuiteError(400, "USER_ERROR", "The total cannot be negative.", "total")
        return lines, total

    def _sales_order(self, record: Record, body: Record) -> Record:
        customer = self.customer_of(body)
        currency = resolve(body["currency"]) if body.get("currency") else customer["currency"]
        lines, order_total = self.priced_lines(body)
        record.update(
            {
                "entity": {"id": customer["id"], "refName": customer["companyName"]},
                "externalId": body.get("externalId", record.get("externalId")),
                "tranDate": body.get("tranDate") or date.today().isoformat(),
                "currency": currency,
                "item": {"items": lines},
                "total": str(order_total),
                "memo": body.get("memo"),
            }
        )
        record.setdefault("tranId", f"SO{record['id']}")
        if "orderStatus" not in record:
            record["orderStatus"] = {"id": "B", "refName": ORDER_STATUS["B"]}
            self._adjust(customer, "unbilledOrders", order_total)
            self.save("customer", customer)
        return record

    def _change_order_status(self, record: Record, status_id: str) -> None:
        current = record["orderStatus"]["id"]
        if status_id == current:
            return
        if status_id == "C" and current not in ("A", "B"):
            raise NetSuiteError(
                400,
                "USER_ERROR",
                "You cannot cancel a sales order that has been billed or fulfilled. Close it instead.",
                "orderStatus",
            )
        if status_id not in ("C", "H"):
            raise NetSuiteError(400, "INVALID_FLD_VALUE", f"Invalid orderStatus {status_id}.", "orderStatus")
        if current in ("A", "B"):
            customer = self.load("customer", record["entity"]["id"])
            self._adjust(customer, "unbilledOrders", -money(record["total"]))
            self.save("customer", customer)
        record["orderStatus"] = {"id": status_id, "refName": ORDER_STATUS[status_id]}

    # ---- transforms ----
    def invoice_order(self, ref: str, body: Record) -> str:
        order = self.load("salesOrder", ref)
        self.check_external_id("invoice", body.get("externalId"))
        if order["orderStatus"]["id"] not in ("B", "F"):
            raise NetSuiteError(
                400,
                "USER_ERROR",
                f"Sales order {order['tranId']} is {order['orderStatus']['refName']} and cannot be billed.",
            )
        wanted = (body.get("item") or {}).get("items")
        lines = order["item"]["items"]
        if wanted is not None:
            keep = {self.ref_id(line.get("item"), "item") for line in wanted}
            lines = [line for line in lines if line["item"]["id"] in keep]
        amount = sum((money(line["amount"]) for line in lines), Decimal(0))
        invoice = self.transformed("invoice", "INV", order, body)
        invoice.update(
            {
                "item": {"items": lines},
                "total": str(amount),
                "amountRemaining": str(amount),
                "status": {"id": "A", "refName": "Open"},
            }
        )
        self.save("invoice", invoice)
        customer = self.load("customer", order["entity"]["id"])
        self._adjust(customer, "balance", amount)
        self._adjust(customer, "unbilledOrders", -money(order["total"]))
        self.save("customer", customer)
        order["orderStatus"] = {"id": "G", "refName": ORDER_STATUS["G"]}
        self.save("salesOrder", order)
        return str(invoice["id"])
