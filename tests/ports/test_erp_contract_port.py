"""The Erp port as the contract's sagas use it: a change order priced at prorated amounts (quantity 1, cents),
cancelled as the saga's undo, and a credit order for a cancellation's unused time (its lines negative), each
made once per external id, its total to the minor unit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from models.money import Money
from models.orders import OrderLine, OrderStatus, SalesOrder
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


async def test_a_credit_order_for_unused_time_holds_negative_lines_to_the_cent(erp):
    order = await prorated_order(erp, {"PLAT-PRO": "-24657.53", "API-ADDON": "-4109.59"}, "credit_order")
    created = await erp.create_sales_order(order)
    assert (await erp.create_sales_order(order)).id == created.id
    assert created.total == Money(amount=Decimal("-28767.12"), currency="USD")
    assert [o.id for o in await erp.orders_for(order.external_id.split(":")[0])] == [created.id]
    assert (await erp.close_sales_order(str(created.id), "entered in error")).status is OrderStatus.CANCELLED
