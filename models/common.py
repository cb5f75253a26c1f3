"""Small shared vocabulary: systems, regions, lifecycle stages."""

from enum import StrEnum


class System(StrEnum):
    """A system of record q2c talks to."""

    CRM = "crm"
    ERP = "erp"
    BILLING = "billing"
    SUPPORT = "support"


class Region(StrEnum):
    """Commercial regions; policy (credit, holds, gating, tax) varies by region."""

    NA = "na"
    EMEA = "emea"
    UK = "uk"


class LifecycleStage(StrEnum):
    """Where a customer stands; decides who owns which attribute."""

    PROSPECT = "prospect"
    CUSTOMER = "customer"
