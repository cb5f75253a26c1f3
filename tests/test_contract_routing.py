"""A contract's renewal deal opens in the contract's own CRM when a worker serves two."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from activities.contract import ContractActivities
from models.amendments import RenewalDeal
from models.contract import contract_id, crm_of_contract


def crm(name: str) -> Any:
    return SimpleNamespace(name=name)


def renewal(contract: str) -> RenewalDeal:
    return RenewalDeal(company_id="1", name="Renewal", close_date=date(2027, 12, 31), lines=[], contract_id=contract)


@pytest.mark.parametrize(
    ("workflow_id", "crm_name"),
    [
        (contract_id("salesforce", "001Ak00000XyZabIAB"), "salesforce"),
        (contract_id("hubspot", "50004"), "hubspot"),
        (contract_id("hubspot", "50004") + "-9c64ff", "hubspot"),  # a test's suffixed id
        ("q2c-hubspot-1001", None),
        ("q2c-contract-", None),
        ("x-q2c-contract-hubspot-1", None),
    ],
)
def test_a_contract_id_names_its_crm(workflow_id: str, crm_name: str | None) -> None:
    assert crm_of_contract(workflow_id) == crm_name


def test_the_renewal_goes_to_the_contracts_crm_not_the_default() -> None:
    hubspot, salesforce = crm("hubspot"), crm("salesforce")
    activities = ContractActivities(erp=Any, billing=Any, crm=hubspot, crms={"salesforce": salesforce})  # type: ignore[arg-type]
    assert activities.crm_of(renewal(contract_id("salesforce", "001A"))) is salesforce
    assert activities.crm_of(renewal(contract_id("hubspot", "50004"))) is hubspot


def test_a_contract_of_a_crm_not_served_is_refused_by_name() -> None:
    activities = ContractActivities(erp=Any, billing=Any, crm=crm("hubspot"))  # type: ignore[arg-type]
    with pytest.raises(ApplicationError, match="'salesforce' is not served") as refused:
        activities.crm_of(renewal(contract_id("salesforce", "001A")))
    assert refused.value.type == "CrmNotServed"
