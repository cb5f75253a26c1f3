"""Which vendor serves each role, from configuration: `Q2C_CRM`, `Q2C_ERP`, `Q2C_BILLING`, `Q2C_SUPPORT`."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Roles(BaseSettings):
    """The adapter serving each role, by name (see connectors.registry for the names known)."""

    model_config = SettingsConfigDict(env_prefix="Q2C_", extra="ignore")
    crm: str = "hubspot"
    erp: str = "netsuite"
    billing: str = "stripe"
    support: str = "zendesk"
    # every CRM served at once (`Q2C_CRMS=hubspot,salesforce`); `crm` is the default, first when unset
    crms: Annotated[tuple[str, ...], NoDecode] = ()

    @field_validator("crms", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        return tuple(n.strip() for n in value.split(",") if n.strip()) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _default_crm(self) -> Roles:
        if self.crms and "crm" not in self.model_fields_set:
            self.crm = self.crms[0]
        return self

    def crm_names(self) -> tuple[str, ...]:
        """The CRMs served, the default one first."""
        return (self.crm, *(name for name in self.crms if name != self.crm))
