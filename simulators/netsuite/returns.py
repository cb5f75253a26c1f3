"""NetSuite return authorizations: what goes back to a customer, recorded as a sale is, posting nothing.

Created on their own (POST returnAuthorization with an entity and item lines like an order's; REST API Browser,
record `returnAuthorization`), they start Pending Receipt (B; an account that wants returns approved starts them
Pending Approval, A, which the simulator does not model) and may be cancelled (C) while nothing was received or
refunded, else closed (H). Like an order's, their total may not be negative. No balance moves: a return posts
nothing until it is refunded or credited, which q2c never asks for.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from simulators.netsuite.currencies import resolve
from simulators.netsuite.errors import NetSuiteError

if TYPE_CHECKING:
    from simulators.netsuite.rules import Books

Record = dict[str, Any]
RETURN_STATUS = {
    "A": "Pending Approval",
    "B": "Pending Receipt",
    "C": "Cancelled",
    "D": "Partially Received",
    "E": "Pending Refund/Partially Received",
    "F": "Pending Refund",
    "G": "Refunded",
    "H": "Closed",
}


def write_return(books: Books, record: Record, body: Record) -> Record:
    status = (body.pop("orderStatus", None) or {}).get("id")
    if "tranId" not in record:
        record = _new_return(books, record, body)
    else:
        record.update({k: v for k, v in body.items() if k in ("memo", "externalId")})  # its lines stand
    if status:
        _change_status(record, status)
    return record


def _new_return(books: Books, record: Record, body: Record) -> Record:
    customer = books.customer_of(body)
    lines, total = books.priced_lines(body)
    record.update(
        {
            "entity": {"id": customer["id"], "refName": customer["companyName"]},
            "externalId": body.get("externalId", record.get("externalId")),
            "tranId": f"RMA{record['id']}",
            "tranDate": body.get("tranDate") or date.today().isoformat(),
            "currency": resolve(body["currency"]) if body.get("currency") else customer["currency"],
            "item": {"items": lines},
            "total": str(total),
            "memo": body.get("memo"),
            "orderStatus": {"id": "B", "refName": RETURN_STATUS["B"]},
        }
    )
    return record


def _change_status(record: Record, status_id: str) -> None:
    current = record["orderStatus"]["id"]
    if status_id == current:
        return
    if status_id == "C" and current not in ("A", "B"):
        raise NetSuiteError(
            400, "USER_ERROR", "You cannot cancel a return that has been received or refunded.", "orderStatus"
        )
    if current == "C":
        raise NetSuiteError(400, "USER_ERROR", "This return authorization is cancelled.", "orderStatus")
    if status_id not in ("C", "H"):
        raise NetSuiteError(400, "INVALID_FLD_VALUE", f"Invalid orderStatus {status_id}.", "orderStatus")
    record["orderStatus"] = {"id": status_id, "refName": RETURN_STATUS[status_id]}
