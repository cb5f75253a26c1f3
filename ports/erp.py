"""The ERP: customers, credit, sales orders, invoices and credit memos."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from models.orders import Invoice, ReturnOrder, SalesOrder
from models.party import CreditPosition, Customer
from models.records import ErpCatalog


@runtime_checkable
class Erp(Protocol):
    name: str

    async def resolve_catalog(self, skus: list[str]) -> ErpCatalog:
        """Each SKU's active item; BusinessRuleError (UNKNOWN_PRODUCT) naming a SKU that has none."""
        ...

    async def upsert_customer(self, customer: Customer) -> str:
        """Create or update the customer by q2c's customer id; returns the ERP's id. Never makes two."""
        ...

    async def credit_position(self, customer_ref: str) -> CreditPosition: ...

    async def create_sales_order(self, order: SalesOrder) -> SalesOrder:
        """Create once per `order.external_id`: a repeat returns the order the first call made."""
        ...

    async def get_sales_order(self, ref: str) -> SalesOrder: ...

    async def close_sales_order(self, ref: str, reason: str) -> SalesOrder:
        """Cancel an unbilled order, close a billed one; a finished order is returned as it is."""
        ...

    async def invoice_order(self, order_id: str, external_id: str, item_ids: list[str] | None = None) -> Invoice:
        """Invoice the order (only these items, when given), once per external id."""
        ...

    async def get_invoice(self, ref: str) -> Invoice: ...

    async def find_invoice(self, external_id: str) -> Invoice | None: ...

    async def credit_invoice(self, invoice_id: str, external_id: str, reason: str) -> str:
        """Reverse a posted invoice with a credit memo, once per external id; returns the memo's id."""
        ...

    async def create_return_order(self, order: ReturnOrder) -> ReturnOrder:
        """Record what goes back to the customer, once per `order.external_id` (a repeat returns the first call's);
        it posts nothing. A negative total is refused as the ERP refuses it."""
        ...

    async def cancel_return_order(self, ref: str, reason: str) -> ReturnOrder:
        """Undo a return order: cancelled while pending, closed once in progress; one already ended is returned as it
        is, and one refunded is refused (a business error for a person: the money went back)."""
        ...

    async def orders_for(self, saga_id: str) -> list[SalesOrder]:
        """Every sales order a saga made (external ids `<saga id>:...`), for reconciliation."""
        ...

    async def read_customer_attribute(self, customer_id: str, attribute: str) -> str | None: ...

    async def write_customer_attribute(self, customer_id: str, attribute: str, value: str | None) -> None: ...


@runtime_checkable
class ErpBulkReads(Protocol):
    """Reads of many sagas' ERP records in a few requests (reconciliation at scale); an ERP without them is
    read one saga at a time (`Erp.orders_for`, `Erp.find_invoice`)."""

    async def orders_for_sagas(self, saga_ids: list[str]) -> dict[str, list[SalesOrder]]:
        """`orders_for` for many sagas, headers only (`lines` empty); a saga with none is left out."""
        ...

    async def find_invoices(self, external_ids: list[str]) -> dict[str, Invoice]:
        """`find_invoice` for many external ids; one not found is left out."""
        ...
