"""How QuoteToCash hands a deal to the customer's contract: a completed sale opens (or joins) the contract
entity; a deal of another type (expansion, contraction, renewal, cancellation) is queued on it, and parks
for an operator when the customer has no contract to change."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.contract.entity import ContractEntity
from workflows.kit import Saga, SagaStopped

with workflow.unsafe.imports_passed_through():
    from models.contract import ChangeRequest, ContractInput, ContractLine, NewSale, contract_id
    from models.deal import Deal
    from models.party import Customer
    from models.saga import SagaError, SagaInput, Stage
    from models.steps import Provision

NO_CONTRACT = "no_contract"


async def open_contract(sale: NewSale, saga: SagaInput) -> str:
    """Start the customer's contract entity, which outlives this saga; one already running hears the sale."""
    entity = contract_id(sale.crm, sale.customer.id)
    assert saga.contracts is not None
    start = ContractInput(
        sale=sale, policy=saga.contracts, policies=saga.contract_policies, erp_task_queue=saga.erp_task_queue
    )
    try:
        await workflow.start_child_workflow(
            ContractEntity.run,
            start,
            id=entity,
            parent_close_policy=ParentClosePolicy.ABANDON,
        )
    except WorkflowAlreadyStartedError:
        await workflow.get_external_workflow_handle(entity).signal("sale", sale)
    return entity


async def queue_change(saga: Saga, crm: str, deal: Deal, customer: Customer, correlation_id: str) -> str:
    """Queue the deal on its customer's contract; with no contract, park until an operator retries (after the
    contract exists) or gives up."""
    entity = contract_id(crm, customer.id)
    request = ChangeRequest(
        kind=deal.kind, deal=deal, saga_id=workflow.info().workflow_id, correlation_id=correlation_id
    )
    while True:
        try:
            await workflow.get_external_workflow_handle(entity).signal("change", request)
            return entity
        except ApplicationError as failure:
            error = SagaError(
                step="queue_on_contract",
                type="NoContract",
                system=crm,
                message=f"a {deal.kind.value} deal for company {customer.id}, which has no running contract "
                f"({entity}): {failure.message}",
            )
        if await saga.workbench.park(NO_CONTRACT, "queue_on_contract", error) == "compensate":
            saga.check_cancel()
            raise SagaStopped(Stage.FAILED, error)


def sale_of(
    crm: str,
    saga_id: str,
    correlation_id: str,
    deal: Deal,
    ids: dict[str, str],
    provision: Provision,
    prices: dict[str, str],
) -> NewSale:
    """The completed sale as the contract takes it: the saga's records, its recurring lines on the subscriptions
    that bill them (item ids are read when the first change needs them) and the entitlement it provisioned."""
    assert deal.company is not None
    lines = [
        ContractLine(
            sku=line.sku,
            quantity=int(line.quantity),
            unit_price=line.unit_price,
            frequency=line.frequency,
            subscription_id=ids.get(f"subscribe_{line.frequency.value}"),
            price_id=prices.get(line.sku),
        )
        for line in deal.lines_by(recurring=True)
    ]
    return NewSale(
        saga_id=saga_id,
        crm=crm,
        deal=deal,
        customer=deal.company,
        region=deal.company.region,
        erp_customer_id=provision.erp_customer_id or ids.get("upsert_customer", ""),
        order_id=ids["create_order"],
        term_start=provision.start,
        term_end=provision.end,
        tier=provision.tier,
        subscriptions=[ids[step] for step in ("subscribe_annually", "subscribe_monthly") if step in ids],
        lines=lines,
        correlation_id=correlation_id,
    )
