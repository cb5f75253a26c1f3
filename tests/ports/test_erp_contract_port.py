"""The Erp port as the contract's sagas use it: a change order priced at prorated amounts (quantity 1, cents),
cancelled as the saga's undo; and what a change owes the customer (a cancellation's unused time, a contraction)
as a return order, which posts nothing either and is cancelled as the undo, because the ERP keeps no sales order
with a negative total. Each is made once per external id, its total to the minor unit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from connectors.errors import BusinessRuleError
from models.money import Money
from models.orders import OrderLine, OrderStatus, ReturnOrder, SalesOrder
from tests.ports.conftest import new_customer, new_saga_id


async def prorated_order(erp, amounts: dict[str, str], step: str) -> SalesOrder:
    customer_id = await erp.upsert_customer(new_customer())
    items = (await erp.resolve_catalog(sorted(amounts))).items
    lines = [
        OrderLine(sku=sku, item_id=items[sku], quantity=1, rate=Money(amount=Decimal(amount), currency="USD"))
        for sku, amount in sorted(amounts.items())
    ]
    return SalesOrder(
        external_id=f"{new_saga_id()}-change-3:{step}",
        customer_id=customer_id,
        order_date=date(2032, 6, 17),
        currency="USD",
        lines=lines,
    )


def return_of(order: SalesOrder) -> ReturnOrder:
    """The same lines as a return order (what a change owes the customer)."""
    return ReturnOrder(
        external_id=order.external_id,
        customer_id=order.customer_id,
        order_date=order.order_date,
        currency=order.currency,
        lines=order.lines,
    )


async def test_a_change_order_keeps_prorated_amounts_to_the_cent_once_and_is_cancelled_as_an_undo(erp):
    order = await prorated_order(erp, {"PLAT-PRO": "12345.67", "SSO-ADDON": "1013.01"}, "change_order")
    created = await erp.create_sales_order(order)
    assert (await erp.create_sales_order(order)).id == created.id
    assert created.total == Money(amount=Decimal("13358.68"), currency="USD")
    read = await erp.get_sales_order(str(created.id))
    assert sorted((x.sku, x.quantity, x.rate.amount) for x in read.lines) == [
        ("PLAT-PRO", 1, Decimal("12345.67")),
        ("SSO-ADDON", 1, Decimal("1013.01")),
    ]
    assert (await erp.close_sales_order(str(created.id), "amendment compensated")).status is OrderStatus.CANCELLED


async def test_an_order_whose_total_is_negative_is_refused_as_the_erp_refuses_it(erp):
    order = await prorated_order(erp, {"PLAT-PRO": "-24657.53", "API-ADDON": "-4109.59"}, "credit_order")
    with pytest.raises(BusinessRuleError, match="total cannot be negative"):
        await erp.create_sales_order(order)
    assert await erp.orders_for(order.external_id.split(":")[0]) == []


async def test_a_return_order_for_unused_time_is_made_once_to_the_cent_posts_nothing_and_is_cancelled(erp):
    order = await prorated_order(erp, {"PLAT-PRO": "24657.53", "API-ADDON": "4109.59"}, "credit_order")
    before = await erp.credit_position(order.customer_id)
    made = await erp.create_return_order(return_of(order))
    assert (await erp.create_return_order(return_of(order))).id == made.id
    assert made.total == Money(amount=Decimal("28767.12"), currency="USD") and made.number
    assert sorted((x.sku, x.rate.amount) for x in made.lines) == [
        ("API-ADDON", Decimal("4109.59")),
        ("PLAT-PRO", Decimal("24657.53")),
    ]
    assert (await erp.credit_position(order.customer_id)).balance == before.balance  # like an order: no posting
    assert (await erp.cancel_return_order(str(made.id), "compensated")).status is OrderStatus.CANCELLED
    again = await erp.cancel_return_order(str(made.id), "compensated")  # an undo retried after it went through
    assert again.status is OrderStatus.CANCELLED


async def test_a_return_order_whose_total_is_negative_is_refused(erp):
    order = await prorated_order(erp, {"PLAT-PRO": "-10.00"}, "credit_order")
    with pytest.raises(BusinessRuleError, match="total cannot be negative"):
        await erp.create_return_order(return_of(order))
