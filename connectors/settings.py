"""Connection settings per vendor, from the environment (`Q2C_<VENDOR>_...`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SIMULATORS = "http://127.0.0.1:8100"


class VendorSettings(BaseSettings):
    base_url: str
    token: SecretStr
    timeout_s: float = 10.0
    correlation_header: str = "X-Correlation-Id"
    # At most this many requests begun in any second by this process (connectors/pacing.py); unset: no ceiling.
    # With several worker processes, each gets the vendor's limit divided by their number.
    requests_per_second: int | None = Field(default=None, ge=1)


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


class SalesforceSettings(VendorSettings):
    """A connected app with the JWT bearer flow (a certificate) or client credentials (a secret)."""

    model_config = SettingsConfigDict(env_prefix="Q2C_SALESFORCE_")
    base_url: str = f"{SIMULATORS}/salesforce"  # the My Domain or instance URL; the token's instance_url wins
    login_url: str | None = None  # https://login.salesforce.com, test.salesforce.com; None: base_url (My Domain)
    audience: str = "https://login.salesforce.com"  # the JWT's aud: the login or My Domain URL
    api_version: str = "62.0"
    auth_mode: Literal["jwt", "client_credentials"] = "client_credentials"
    client_id: str = "3MVG9q2c.dev.connected.app.consumer.key"
    client_secret: SecretStr = SecretStr("q2c-salesforce-consumer-secret-dev")
    username: str = "integration@q2c.example"
    private_key: SecretStr | None = None  # PEM of the certificate's key, for jwt; or private_key_file
    private_key_file: Path | None = None
    org_id: str = "00D5g000004q2cDEAQ"  # Outbound Messages from any other org are refused
    token: SecretStr = SecretStr("unused")  # sessions come from OAuth, never from configuration
    limit_share: float = 0.8  # past this share of the daily API allocation, calls are spaced out


def simulator_settings(base: str) -> tuple[HubSpotSettings, NetSuiteSettings, StripeSettings, ZendeskSettings]:
    """Settings for all four connectors pointed at a simulator base URL."""
    return (
        HubSpotSettings(base_url=f"{base}/hubspot"),
        NetSuiteSettings(base_url=f"{base}/netsuite"),
        StripeSettings(base_url=f"{base}/stripe"),
        ZendeskSettings(base_url=f"{base}/zendesk"),
    )
