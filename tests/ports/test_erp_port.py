"""The Erp port: every ERP adapter makes each record once and undoes it the same way."""

from __future__ import annotations

from datetime import date

import pytest

from connectors.errors import BusinessRuleError, NotFound
from models.money import Money
from models.orders import InvoiceStatus, OrderLine, OrderStatus, SalesOrder
from simulators.seed import BY_SKU
from tests.ports.conftest import new_customer, new_saga_id


async def an_order(erp, skus: list[str]) -> tuple[SalesOrder, dict[str, str]]:
    customer_id = await erp.upsert_customer(new_customer())
    items = (await erp.resolve_catalog(skus)).items
    lines = [
        OrderLine(sku=sku, item_id=items[sku], quantity=2, rate=Money(amount=BY_SKU[sku].price("USD"), currency="USD"))
        for sku in skus
    ]
    order = SalesOrder(
        external_id=f"{new_saga_id()}:create_order",
        customer_id=customer_id,
        order_date=date(2032, 3, 1),
        currency="USD",
        lines=lines,
    )
    return order, items


async def test_known_products_resolve_to_items_and_the_tiers_they_entitle(erp):
    catalog = await erp.resolve_catalog(["PLAT-PRO", "IMPL-STD", "PLAT-PRO"])
    assert set(catalog.items) == {"PLAT-PRO", "IMPL-STD"} and all(catalog.items.values())
    assert catalog.tiers == {"PLAT-PRO": "premium"}


async def test_an_unknown_product_is_a_business_refusal_naming_it(erp):
    with pytest.raises(BusinessRuleError, match="NO-SUCH-SKU") as refused:
        await erp.resolve_catalog(["IMPL-STD", "NO-SUCH-SKU"])
    assert refused.value.code == "UNKNOWN_PRODUCT" and not refused.value.retryable


async def test_a_customer_is_upserted_once_and_its_credit_position_read(erp):
    customer = new_customer()
    first = await erp.upsert_customer(customer)
    assert await erp.upsert_customer(customer.model_copy(update={"legal_name": "Renamed Ltd"})) == first
    position = await erp.credit_position(first)
    assert position.customer_id == first and position.balance.currency == "USD"
    assert await erp.read_customer_attribute(customer.id, "legal_name") == "Renamed Ltd"
    await erp.write_customer_attribute(customer.id, "legal_name", "Written By Port Test")
    assert await erp.read_customer_attribute(customer.id, "legal_name") == "Written By Port Test"


async def test_a_customer_that_does_not_exist_is_not_found(erp):
    with pytest.raises(NotFound):
        await erp.read_customer_attribute("port-no-such-customer", "legal_name")
    with pytest.raises(ValueError, match="no_such_attribute"):
        await erp.read_customer_attribute("port-no-such-customer", "no_such_attribute")


async def test_an_order_is_created_once_per_external_id_found_by_its_saga_and_closed(erp):
    order, _ = await an_order(erp, ["IMPL-STD", "TRAIN-DAY"])
    created = await erp.create_sales_order(order)
    again = await erp.create_sales_order(order)
    assert again.id == created.id and created.number
    assert created.total == Money(
        amount=2 * (BY_SKU["IMPL-STD"].price("USD") + BY_SKU["TRAIN-DAY"].price("USD")), currency="USD"
    )
    assert [o.id for o in await erp.orders_for(order.external_id.split(":")[0])] == [created.id]
    assert (await erp.get_sales_order(str(created.id))).external_id == order.external_id
    closed = await erp.close_sales_order(str(created.id), "port test")
    assert closed.status is OrderStatus.CANCELLED  # unbilled: cancelled rather than closed
    assert (await erp.close_sales_order(str(created.id), "again")).status is OrderStatus.CANCELLED
    assert await erp.orders_for(new_saga_id()) == []


async def test_an_invoice_is_made_once_found_by_its_external_id_and_credited_once(erp):
    order, items = await an_order(erp, ["IMPL-STD", "TRAIN-DAY"])
    created = await erp.create_sales_order(order)
    key = order.external_id.replace("create_order", "invoice_erp")
    invoice = await erp.invoice_order(str(created.id), key, [items["IMPL-STD"]])
    assert (await erp.invoice_order(str(created.id), key, [items["IMPL-STD"]])).id == invoice.id
    assert invoice.total == Money(amount=2 * BY_SKU["IMPL-STD"].price("USD"), currency="USD")
    assert invoice.status is InvoiceStatus.OPEN
    found = await erp.find_invoice(key)
    assert found is not None and found.id == invoice.id and (await erp.get_invoice(invoice.id)).id == invoice.id
    assert await erp.find_invoice(f"{new_saga_id()}:invoice_erp") is None
    memo_key = order.external_id.replace("create_order", "credit_erp_invoice")
    memo = await erp.credit_invoice(invoice.id, memo_key, "port test")
    assert await erp.credit_invoice(invoice.id, memo_key, "port test") == memo


async def test_an_order_that_does_not_exist_is_not_found(erp):
    with pytest.raises(NotFound):
        await erp.get_sales_order("99999999")
