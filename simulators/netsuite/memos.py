"""NetSuite credit memos as q2c makes them: transformed from an open invoice (`!transform/creditMemo`),
crediting what is left to pay, which lowers the customer's balance by as much."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from simulators.netsuite.errors import NetSuiteError
from simulators.netsuite.rules import money

if TYPE_CHECKING:
    from simulators.netsuite.rules import Books

Record = dict[str, Any]


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
    _credit(books, invoice["entity"]["id"], money(invoice["amountRemaining"]))
    invoice.update({"amountRemaining": "0.00", "status": {"id": "B", "refName": "Paid In Full"}})
    books.save("invoice", invoice)
    return memo_id


def _credit(books: Books, customer_id: str, amount: Decimal) -> None:
    customer = books.load("customer", customer_id)
    customer["balance"] = str(money(customer.get("balance")) - amount)
    books.save("customer", customer)
