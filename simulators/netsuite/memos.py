"""NetSuite credit memos: standalone (POST creditMemo), transformed from an invoice, and deleted.

A credit memo lowers the customer's balance by its total. NetSuite creates one either from an invoice
(`!transform/creditMemo`, crediting what is left to pay) or on its own with an entity and item lines like an
order's (REST API Browser, record `creditMemo`); its total, like an order's, may not be negative.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from simulators.netsuite.currencies import resolve
from simulators.netsuite.errors import SYSTEM, NetSuiteError

if TYPE_CHECKING:
    from simulators.netsuite.rules import Books

Record = dict[str, Any]


def credit_memo(books: Books, record: Record, body: Record) -> Record:
    """A memo of its own: the customer is credited the lines' total at once (nothing to apply it to yet)."""
    customer = books.customer_of(body)
    lines, total = books.priced_lines(body)
    record.update(
        {
            "entity": {"id": customer["id"], "refName": customer["companyName"]},
            "externalId": body.get("externalId", record.get("externalId")),
            "tranId": f"CM{record['id']}",
            "tranDate": body.get("tranDate") or date.today().isoformat(),
            "currency": resolve(body["currency"]) if body.get("currency") else customer["currency"],
            "item": {"items": lines},
            "total": str(total),
            "memo": body.get("memo"),
        }
    )
    _credit(books, customer["id"], total)
    return record


def credit_invoice(books: Books, ref: str, body: Record) -> str:
    """Transform an open invoice into a memo for what is left to pay; the invoice is then settled."""
    invoice = books.load("invoice", ref)
    books.check_external_id("creditMemo", body.get("externalId"))
    if invoice["status"]["id"] != "A":
        raise NetSuiteError(
            400,
            "USER_ERROR",
            f"Invoice {invoice['tranId']} is {invoice['status']['refName']}; only open invoices can be credited.",
        )
    memo_id = books.new_id("creditMemo")
    memo = {
        "id": memo_id,
        "tranId": f"CM{memo_id}",
        "externalId": body.get("externalId"),
        "entity": invoice["entity"],
        "createdFrom": {"id": invoice["id"], "refName": invoice["tranId"]},
        "currency": invoice["currency"],
        "tranDate": body.get("tranDate") or date.today().isoformat(),
        "total": invoice["amountRemaining"],
        "memo": body.get("memo"),
    }
    books.save("creditMemo", memo)
    _credit(books, invoice["entity"]["id"], _amount(invoice["amountRemaining"]))
    invoice.update({"amountRemaining": "0.00", "status": {"id": "B", "refName": "Paid In Full"}})
    books.save("invoice", invoice)
    return memo_id


def delete_credit_memo(books: Books, ref: str) -> None:
    """DELETE a memo: its credit leaves the customer's balance, and an invoice it settled is open again for
    what the memo had credited."""
    memo = books.load("creditMemo", ref)
    credited = _amount(memo["total"])
    if memo.get("createdFrom"):
        invoice = books.load("invoice", memo["createdFrom"]["id"])
        invoice.update(
            {
                "amountRemaining": str(_amount(invoice["amountRemaining"]) + credited),
                "status": {"id": "A", "refName": "Open"},
            }
        )
        books.save("invoice", invoice)
    _credit(books, memo["entity"]["id"], -credited)
    books.store.delete(SYSTEM, "creditMemo", memo["id"])


def _credit(books: Books, customer_id: str, amount: Decimal) -> None:
    customer = books.load("customer", customer_id)
    customer["balance"] = str(_amount(customer.get("balance")) - amount)
    books.save("customer", customer)


def _amount(value: Any) -> Decimal:
    return Decimal(str(value or 0))
