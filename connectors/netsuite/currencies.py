"""The account's currencies: ISO code <-> internal id, read once per client from SuiteQL's `currency` table.

A reference field is written by internal id (or external id), never by its display name: Oracle's examples
set references as `{"id": "1"}` (https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156334828635.html),
and a reference's `refName` is the field's display text, `getFieldText()`
(https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1545142037.html): a currency's is its
name, which each account chooses ("USD" in Oracle's example, "US Dollar" in many accounts). The ISO code is
the currency record's `symbol`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from connectors.errors import BusinessRuleError, SchemaDrift
from connectors.netsuite.fields import SYSTEM

QUERY = "SELECT id, symbol FROM currency ORDER BY id"


class Currencies:
    """Both directions of the account's currency list; a code the account lacks is a business error."""

    def __init__(self, rows: Iterable[dict[str, Any]]) -> None:
        self.code_by_id = {str(r["id"]): str(r["symbol"]).upper() for r in rows if r.get("symbol")}
        self.id_by_code = {code: currency_id for currency_id, code in self.code_by_id.items()}

    def ref(self, code: str) -> dict[str, str]:
        """The reference to write for an ISO code: `{"id": <internal id>}`."""
        try:
            return {"id": self.id_by_code[code.upper()]}
        except KeyError:
            raise BusinessRuleError(
                SYSTEM, f"the account has no currency {code!r} (Lists > Accounting > Currencies)", code="NO_CURRENCY"
            ) from None

    def code(self, reference: Any, record_type: str) -> str:
        """The ISO code of a read reference (`{"id": ..., "refName": ...}`), by its internal id."""
        currency_id = reference.get("id") if isinstance(reference, dict) else None
        if currency_id is None or str(currency_id) not in self.code_by_id:
            raise SchemaDrift(SYSTEM, record_type, "currency.id", f"no currency of the account has id {currency_id!r}")
        return self.code_by_id[str(currency_id)]
