"""The search attributes operators filter on (`temporal workflow list --query "Q2CHold='credit_review'"`)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

STAGE = SearchAttributeKey.for_keyword("Q2CStage")
HOLD = SearchAttributeKey.for_keyword("Q2CHold")
CUSTOMER = SearchAttributeKey.for_keyword("Q2CCustomer")
AMOUNT = SearchAttributeKey.for_float("Q2CAmount")  # an index for filtering, not money arithmetic
ALL = (STAGE, HOLD, CUSTOMER, AMOUNT)


def initial(stage: str = "received") -> TypedSearchAttributes:
    return TypedSearchAttributes([SearchAttributePair(STAGE, stage), SearchAttributePair(HOLD, "")])
