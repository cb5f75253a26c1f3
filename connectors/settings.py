"""Connection settings per vendor, from the environment (`Q2C_<VENDOR>_...`)."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SIMULATORS = "http://127.0.0.1:8100"


class VendorSettings(BaseSettings):
    base_url: str
    token: SecretStr
    timeout_s: float = 10.0
    correlation_header: str = "X-Correlation-Id"


class HubSpotSettings(VendorSettings):
    model_config = SettingsConfigDict(env_prefix="Q2C_HUBSPOT_")
    base_url: str = f"{SIMULATORS}/hubspot"
    token: SecretStr = SecretStr("pat-na1-q2c-dev")
    app_secret: SecretStr = SecretStr("hubspot-app-secret-dev")


class NetSuiteSettings(VendorSettings):
    model_config = SettingsConfigDict(env_prefix="Q2C_NETSUITE_")
    base_url: str = f"{SIMULATORS}/netsuite"
    token: SecretStr = SecretStr("netsuite-token-dev")


class StripeSettings(VendorSettings):
    model_config = SettingsConfigDict(env_prefix="Q2C_STRIPE_")
    base_url: str = f"{SIMULATORS}/stripe"
    token: SecretStr = SecretStr("sk_test_q2c_dev")
    webhook_secret: SecretStr = SecretStr("whsec_q2c_dev")
    api_version: str = "2023-08-16"
    days_until_due: int = 30


class ZendeskSettings(VendorSettings):
    model_config = SettingsConfigDict(env_prefix="Q2C_ZENDESK_")
    base_url: str = f"{SIMULATORS}/zendesk"
    token: SecretStr = SecretStr("zendesk-token-dev")
    webhook_secret: SecretStr = SecretStr("zendesk-webhook-secret-dev")


def simulator_settings(base: str) -> tuple[HubSpotSettings, NetSuiteSettings, StripeSettings, ZendeskSettings]:
    """Settings for all four connectors pointed at a simulator base URL."""
    return (
        HubSpotSettings(base_url=f"{base}/hubspot"),
        NetSuiteSettings(base_url=f"{base}/netsuite"),
        StripeSettings(base_url=f"{base}/stripe"),
        ZendeskSettings(base_url=f"{base}/zendesk"),
    )
