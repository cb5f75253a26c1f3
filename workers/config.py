"""q2c's own settings (`Q2C_...`); Temporal's connection comes from Temporal's env config instead."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.common import Region
from models.saga import TASK_QUEUE, SagaPolicy


class Q2CSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="Q2C_", env_nested_delimiter="__")

    temporal_profile: str | None = Field(default=None, description="profile in temporal.toml; env overrides it")
    task_queue: str = TASK_QUEUE
    ingress_host: str = "127.0.0.1"
    ingress_port: int = 8000
    ingress_max_body_bytes: int = 1_000_000
    ingress_public_url: str | None = Field(
        default=None, description="the URL HubSpot calls, as it signs it (behind a proxy it differs from ours)"
    )
    hubspot_app_secret: SecretStr = SecretStr("hubspot-app-secret-dev")
    policies: dict[Region, SagaPolicy] = Field(default_factory=dict, description="per-region saga policy")
