"""Which vendor serves each role, from configuration: `Q2C_CRM`, `Q2C_ERP`, `Q2C_BILLING`, `Q2C_SUPPORT`."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Roles(BaseSettings):
    """The adapter serving each role, by name (see connectors.registry for the names known)."""

    model_config = SettingsConfigDict(env_prefix="Q2C_", extra="ignore")
    crm: str = "hubspot"
    erp: str = "netsuite"
    billing: str = "stripe"
    support: str = "zendesk"
