"""The customer's contract after the first sale: the entity and the saga each change runs as."""

from workflows.contract.amendment import ContractAmendment
from workflows.contract.entity import ContractEntity

__all__ = ["ContractAmendment", "ContractEntity"]
