"""Connection settings per vendor, from the environment (`Q2C_<VENDOR>_...`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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
    token: SecretStr = SecretStr("netsuite-token-dev")  # used by auth_mode "bearer" only
    # "tba": OAuth 1.0a token-based authentication; "m2m": OAuth 2.0 client credentials; "bearer": `token`
    auth_mode: Literal["tba", "m2m", "bearer"] = "tba"
    account_id: str = "1234567"  # the OAuth 1.0a realm, e.g. 1234567_SB1 for a sandbox
    consumer_key: SecretStr = SecretStr("q2c-dev-consumer-key")
    consumer_secret: SecretStr = SecretStr("q2c-dev-consumer-secret")
    token_id: SecretStr = SecretStr("q2c-dev-token-id")
    token_secret: SecretStr = SecretStr("q2c-dev-token-secret")
    client_id: str = "q2c-dev-client-id"
    certificate_id: str = "q2c-dev-certificate"
    private_key: SecretStr | None = None  # PEM, for m2m; or private_key_file
    private_key_file: Path | None = None


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
