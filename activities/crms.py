"""The CRMs a worker serves: its default one and every other one named in `Q2C_CRMS`, found by name."""

from __future__ import annotations

from collections.abc import Mapping

from temporalio.exceptions import ApplicationError

from ports import Crm


class ServedCrms:
    """One place that answers "which CRM?" for every activity class, and refuses a CRM not served."""

    def __init__(self, default: Crm, others: Mapping[str, Crm] | None = None) -> None:
        self.default = default
        self.by_name = {default.name: default, **(others or {})}

    def named(self, name: str | None) -> Crm:
        """The named CRM, or the default one when no name is known."""
        if name is None:
            return self.default
        try:
            return self.by_name[name]
        except KeyError:  # a saga, customer or contract of a CRM this worker does not serve: no retry can fix it
            served = ", ".join(sorted(self.by_name))
            raise ApplicationError(
                f"CRM {name!r} is not served by this worker (Q2C_CRMS: {served})", type="CrmNotServed"
            ) from None
