"""NetSuite credit memos as q2c makes them: transformed from an open invoice (`!transform/creditMemo`),
crediting what is left to pay, which lowers the customer's balance by as much."""

from __future__ import annotations

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
    memo = {**books.transformed("creditMemo", "CM", invoice, body), "total": invoice["amountRemaining"]}
    books.save("creditMemo", memo)
    books.move_balance(invoice["entity"]["id"], -money(invoice["amountRemaining"]))
    invoice.update({"amountRemaining": "0.00", "status": {"id": "B", "refName": "Paid In Full"}})
    books.save("invoice", invoice)
    return str(memo["id"])
