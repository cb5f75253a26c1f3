"""Salesforce record ids: a 3-character key prefix per sObject, 15 case-sensitive characters, and the
3-character suffix that makes the 18-character form case-insensitive (what the REST API returns)."""

from __future__ import annotations

import string

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX = string.ascii_uppercase + "012345"


def checksum(id15: str) -> str:
    """The suffix: per 5-character chunk, a bit for each upper-case letter, as one of A-Z0-5."""
    suffix = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, char in enumerate(chunk) if char in string.ascii_uppercase)
        suffix += _SUFFIX[bits]
    return suffix


def make_id(prefix: str, number: int, pod: str = "5g") -> str:
    """An 18-character id such as `0065g00000AbCdEAAZ` for the `number`th record of a type."""
    digits = ""
    while True:
        number, remainder = divmod(number, 62)
        digits = _BASE62[remainder] + digits
        if number == 0:
            break
    body = f"{prefix}{pod}" + digits.rjust(10, "0")
    return body + checksum(body)


def is_valid(record_id: str) -> bool:
    """True for a well-formed 15- or 18-character id. An 18-character id is read by its first 15
    characters; whether Salesforce refuses a wrong suffix is unconfirmed, so it is not checked here."""
    return len(record_id) in (15, 18) and all(char in _BASE62 for char in record_id)


def to18(record_id: str) -> str:
    return record_id if len(record_id) == 18 else record_id + checksum(record_id)
