"""The Crm port: every CRM adapter reads deals and writes q2c's milestones the same way."""

from __future__ import annotations

import pytest

from connectors.errors import BusinessRuleError, NotFound
from models.crm import DealMilestones
from models.saga import parse_saga_id, saga_id
from tests.ports.seeds import DEALS

WINDOW = "2033-01-07"  # a close date no other test uses, so the window holds only this suite's deals


def deal(crm, sim, skus: list[str], stage: str = "won", close_date: str = "2032-01-15") -> str:
    return DEALS[crm.name](sim, skus, stage, close_date)


async def test_its_name_makes_saga_ids_it_can_be_found_by(crm, sim):
    deal_id = deal(crm, sim, ["IMPL-STD"])
    assert parse_saga_id(saga_id(crm.name, deal_id)) == (crm.name, deal_id)


async def test_a_deal_comes_with_its_lines_and_company_in_canonical_form(crm, sim):
    deal_id = deal(crm, sim, ["IMPL-STD", "PLAT-TEAM"])
    found = await crm.get_deal(deal_id)
    assert found.id == deal_id and found.closed_won and found.problems() == []
    assert sorted(line.sku for line in found.lines) == ["IMPL-STD", "PLAT-TEAM"]
    assert {line.unit_price.currency for line in found.lines} == {found.currency}
    assert [line.sku for line in found.lines_by(recurring=True)] == ["PLAT-TEAM"]
    assert found.company is not None and found.company.id and found.company.legal_name


async def test_an_open_deal_is_read_as_not_closed_won(crm, sim):
    found = await crm.get_deal(deal(crm, sim, ["IMPL-STD"], stage="open"))
    assert not found.closed_won and found.problems()


async def test_a_deal_that_does_not_exist_is_not_found(crm):
    with pytest.raises(NotFound):
        await crm.get_deal("99999999999")


async def test_milestones_are_written_read_back_and_only_the_ones_set_change(crm, sim):
    deal_id = deal(crm, sim, ["IMPL-STD"])
    assert (await crm.deal_state(deal_id)).milestones == DealMilestones()
    first = DealMilestones(status="order_accepted", order_number="SO-77", erp_customer="C-9", saga_id="q2c-x-1")
    await crm.update_deal(deal_id, first)
    await crm.update_deal(deal_id, first)  # the same write twice changes nothing
    await crm.update_deal(deal_id, DealMilestones(payment="paid", invoice="paid"))
    state = await crm.deal_state(deal_id)
    assert state.milestones == first.model_copy(update={"payment": "paid", "invoice": "paid"})
    assert state.company_id == (await crm.get_deal(deal_id)).company.id


async def test_milestones_to_a_deal_that_does_not_exist_are_refused(crm):
    with pytest.raises(BusinessRuleError):
        await crm.update_deal("99999999999", DealMilestones(status="completed"))


async def test_an_empty_legacy_update_means_no_milestones_and_an_unknown_name_is_an_error(crm):
    assert crm.legacy_milestones({}) == DealMilestones()
    with pytest.raises(ValueError, match="not_a_property_q2c_writes"):
        crm.legacy_milestones({"not_a_property_q2c_writes": "x"})


async def test_closed_won_deals_are_paged_within_their_close_dates(crm, sim):
    day = WINDOW
    won = {deal(crm, sim, ["IMPL-STD"], close_date=day) for _ in range(3)}
    deal(crm, sim, ["IMPL-STD"], stage="open", close_date=day)
    deal(crm, sim, ["IMPL-STD"], close_date="2031-12-31")
    seen: list[str] = []
    after = None
    for _ in range(5):
        page = await crm.closed_won_page(after, 2, day, day)
        assert len(page.deal_ids) <= 2
        seen += page.deal_ids
        after = page.next_after
        if after is None:
            break
    assert sorted(seen) == sorted(won)


async def test_company_attributes_are_written_and_read_back(crm, sim):
    company = (await crm.get_deal(deal(crm, sim, ["IMPL-STD"]))).company
    assert company is not None
    await crm.write_company_attribute(company.id, "legal_name", "Renamed By Port Test")
    assert await crm.read_company_attribute(company.id, "legal_name") == "Renamed By Port Test"
    await crm.write_company_attribute(company.id, "legal_name", company.legal_name)
    with pytest.raises(ValueError, match="no_such_attribute"):
        await crm.read_company_attribute(company.id, "no_such_attribute")


async def test_an_attribute_of_a_company_that_does_not_exist_is_not_found(crm):
    with pytest.raises(NotFound):
        await crm.write_company_attribute("99999999999", "legal_name", "Nobody")
