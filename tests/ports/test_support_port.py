"""The Support port: every support adapter keeps one organization per customer and tickets once per key."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from connectors.errors import NotFound
from models.support import EntitlementStatus, SupportOrganization


def an_organization() -> SupportOrganization:
    tag = uuid.uuid4().hex[:8]
    return SupportOrganization(
        external_id=f"port-{tag}",
        name=f"Port Org {tag}",
        service_tier="premium",
        contract_start=date(2032, 1, 1),
        contract_end=date(2032, 12, 31),
        entitlement_status=EntitlementStatus.ACTIVE,
        erp_customer_id="C-1",
    )


async def test_an_organization_is_upserted_once_per_customer_and_found(support):
    org = an_organization()
    saved = await support.upsert_organization(org)
    assert saved.id and saved.external_id == org.external_id and saved.service_tier == "premium"
    again = await support.upsert_organization(org.model_copy(update={"service_tier": "enterprise"}))
    assert again.id == saved.id
    found = await support.find_organization(org.external_id)
    assert found is not None and found.id == saved.id and found.service_tier == "enterprise"
    assert found.contract_end == date(2032, 12, 31) and found.entitlement_status is EntitlementStatus.ACTIVE
    assert await support.find_organization("port-no-such-customer") is None


async def test_fields_are_updated_leaving_the_rest_and_an_unknown_one_is_an_error(support):
    org = an_organization()
    await support.upsert_organization(org)
    await support.update_organization(org.external_id, {"entitlement_status": "revoked", "invoice_status": "paid"})
    found = await support.find_organization(org.external_id)
    assert found is not None
    assert found.entitlement_status is EntitlementStatus.REVOKED and found.invoice_status == "paid"
    assert found.service_tier == "premium" and found.name == org.name
    with pytest.raises(ValueError, match="no_such_field"):
        await support.update_organization(org.external_id, {"no_such_field": "x"})


async def test_fields_of_an_organization_that_does_not_exist_are_not_found(support):
    with pytest.raises(NotFound):
        await support.update_organization("port-no-such-customer", {"invoice_status": "paid"})
    with pytest.raises(NotFound):
        await support.write_organization_attribute("port-no-such-customer", "legal_name", "Nobody")


async def test_the_legal_name_is_written_and_read_back(support):
    org = an_organization()
    await support.upsert_organization(org)
    await support.write_organization_attribute(org.external_id, "legal_name", "Renamed Org")
    assert await support.read_organization_attribute(org.external_id, "legal_name") == "Renamed Org"
    assert await support.read_organization_attribute("port-no-such-customer", "legal_name") is None


async def test_two_customers_of_one_name_each_read_back_that_name(support):
    # two CRMs, or two legal entities, may name two customers alike; the support tool may hold a name once
    first, second = an_organization(), an_organization()
    second = second.model_copy(update={"name": first.name})
    await support.upsert_organization(first)
    await support.upsert_organization(second)
    for org in (first, second):
        assert await support.read_organization_attribute(org.external_id, "legal_name") == first.name


async def test_a_ticket_is_opened_once_per_key(support):
    org = an_organization()
    await support.upsert_organization(org)
    key = f"q2c-porttest-{uuid.uuid4().hex[:8]}:finance_review"
    ticket = await support.create_ticket("Finance review", "unpaid", org.external_id, ["q2c"], key)
    assert ticket and await support.create_ticket("Finance review", "unpaid", org.external_id, ["q2c"], key) == ticket
    other = await support.create_ticket("Finance review", "unpaid", org.external_id, ["q2c"], key + "-2")
    assert other != ticket
