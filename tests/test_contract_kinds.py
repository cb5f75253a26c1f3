"""Deal types: each CRM's field read as q2c's deal kind; a value that does not say what the deal does is refused."""

from __future__ import annotations

import pytest

from connectors.errors import BusinessRuleError
from connectors.hubspot.mapping import deal_kind_from_hubspot
from connectors.salesforce.mapping import deal_kind_from_salesforce
from models.deal import DealKind

HUBSPOT = [
    (None, DealKind.NEW_BUSINESS),
    ("newbusiness", DealKind.NEW_BUSINESS),
    ("expansion", DealKind.EXPANSION),
    ("contraction", DealKind.CONTRACTION),
    ("renewal", DealKind.RENEWAL),
    ("cancellation", DealKind.CANCELLATION),
]
SALESFORCE = [
    (None, DealKind.NEW_BUSINESS),
    ("New Business", DealKind.NEW_BUSINESS),
    ("Existing Customer - Upgrade", DealKind.EXPANSION),
    ("Existing Customer - Downgrade", DealKind.CONTRACTION),
    ("Renewal", DealKind.RENEWAL),
]


@pytest.mark.parametrize(("value", "kind"), HUBSPOT)
def test_hubspot_dealtype(value, kind):
    assert deal_kind_from_hubspot(value) is kind


@pytest.mark.parametrize(("value", "kind"), SALESFORCE)
def test_salesforce_type(value, kind):
    assert deal_kind_from_salesforce(value) is kind


def test_a_type_that_does_not_say_what_the_deal_does_is_refused():
    with pytest.raises(ValueError, match="existingbusiness"):
        deal_kind_from_hubspot("existingbusiness")
    with pytest.raises(ValueError, match="Replacement"):
        deal_kind_from_salesforce("Existing Customer - Replacement")


async def test_the_hubspot_adapter_reads_dealtype(sagas, adapters):
    hs = sagas.sim.app.state.apps["hubspot"].state
    expansion, unclear, plain = (sagas.new_deal(["PLAT-PRO"]) for _ in range(3))
    for deal_id, dealtype in ((expansion, "expansion"), (unclear, "existingbusiness")):
        hs.update("deals", sagas.sim.store.get("hubspot", "deals", deal_id), {"dealtype": dealtype})
    assert (await adapters.crm.get_deal(expansion)).kind is DealKind.EXPANSION
    assert (await adapters.crm.get_deal(plain)).kind is DealKind.NEW_BUSINESS
    with pytest.raises(BusinessRuleError, match="existingbusiness"):
        await adapters.crm.get_deal(unclear)
