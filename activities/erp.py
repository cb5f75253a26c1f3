"""ERP activities: customer, credit, sales order, invoice and their undoing."""

from __future__ import annotations

import asyncio
from datetime import date

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import attempt, vendor_step
from models.orders import InvoiceStatus, OrderLine, SalesOrder
from models.steps import (
    AwaitErpPayment,
    CheckCredit,
    CloseOrder,
    CreateOrder,
    CreditChecked,
    CreditInvoice,
    CustomerUpserted,
    Done,
    ErpPaid,
    ErpProducts,
    InvoiceCreated,
    InvoiceOrder,
    OrderCreated,
    ResolveProducts,
    UpsertCustomer,
)
from ports import Erp

HEARTBEAT_EVERY_S = 10.0


class ErpActivities:
    def __init__(self, erp: Erp) -> None:
        self.erp = erp

    @activity.defn(name="erp.resolve_products")
    async def resolve_products(self, step: ResolveProducts) -> ErpProducts:
        """Every SKU must be an active ERP item: an unknown product ends the saga before any write."""
        with vendor_step(step):
            catalog = await self.erp.resolve_catalog(step.skus)
        return ErpProducts(erp_items=catalog.items, tiers=catalog.tiers, attempt=attempt())

    @activity.defn(name="erp.upsert_customer")
    async def upsert_customer(self, step: UpsertCustomer) -> CustomerUpserted:
        with vendor_step(step):
            return CustomerUpserted(erp_customer_id=await self.erp.upsert_customer(step.customer), attempt=attempt())

    @activity.defn(name="erp.check_credit")
    async def check_credit(self, step: CheckCredit) -> CreditChecked:
        with vendor_step(step):
            position = await self.erp.credit_position(step.erp_customer_id)
        return CreditChecked(
            allowed=position.allows(step.order_total, step.limit_share),
            limit=position.limit,
            exposure=position.exposure,
            attempt=attempt(),
        )

    @activity.defn(name="erp.create_sales_order")
    async def create_sales_order(self, step: CreateOrder) -> OrderCreated:
        deal = step.deal
        order = SalesOrder(
            external_id=step.idempotency_key,
            customer_id=step.erp_customer_id,
            order_date=deal.close_date or date.today(),
            currency=deal.currency,
            lines=[
                OrderLine(sku=line.sku, item_id=step.erp_items[line.sku], quantity=line.quantity, rate=line.unit_price)
                for line in deal.lines
            ],
        )
        with vendor_step(step):
            created = await self.erp.create_sales_order(order)
        assert created.id and created.total is not None
        return OrderCreated(
            order_id=created.id, order_number=created.number or created.id, total=created.total, attempt=attempt()
        )

    @activity.defn(name="erp.close_sales_order")
    async def close_sales_order(self, step: CloseOrder) -> Done:
        """The undo of an order, or of a change the ERP holds as a return order: cancelled, or closed if billed."""
        with vendor_step(step):
            if step.return_order:
                returned = await self.erp.cancel_return_order(step.order_id, step.reason)
                return Done(result=returned.status.value, attempt=attempt())
            order = await self.erp.close_sales_order(step.order_id, step.reason)
        return Done(result=order.status.value, attempt=attempt())

    @activity.defn(name="erp.invoice_order")
    async def invoice_order(self, step: InvoiceOrder) -> InvoiceCreated:
        with vendor_step(step):
            invoice = await self.erp.invoice_order(step.order_id, step.idempotency_key, step.item_ids)
        return InvoiceCreated(invoice=invoice, attempt=attempt())

    @activity.defn(name="erp.await_invoice_payment")
    async def await_invoice_payment(self, step: AwaitErpPayment) -> ErpPaid:
        """The ERP may send no events: poll the invoice until it is paid, heartbeating so a cancel is heard.

        A failed poll is logged and polled again; only the workflow's deadline (a cancel) ends the wait.
        """
        while True:
            try:
                with vendor_step(step):
                    invoice = await self.erp.get_invoice(step.invoice_id)
                if invoice.status is InvoiceStatus.PAID:
                    return ErpPaid(invoice_id=step.invoice_id, amount_paid=invoice.total, attempt=attempt())
            except ApplicationError as error:
                if error.non_retryable:
                    raise
            waited = 0.0
            while waited < step.poll_seconds:
                activity.heartbeat(step.invoice_id)
                pause = min(HEARTBEAT_EVERY_S, step.poll_seconds - waited)
                await asyncio.sleep(pause)
                waited += pause

    @activity.defn(name="erp.credit_invoice")
    async def credit_invoice(self, step: CreditInvoice) -> Done:
        with vendor_step(step):
            memo = await self.erp.credit_invoice(step.invoice_id, step.idempotency_key, step.reason)
        return Done(result=f"credit memo {memo}", attempt=attempt())
