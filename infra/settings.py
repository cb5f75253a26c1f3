"""q2c's own settings (`Q2C_...`); Temporal's connection comes from Temporal's env config instead."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.codec import KeyRing
from models.common import Region
from models.contract import ContractPolicy
from models.saga import TASK_QUEUE, SagaPolicy


class Q2CSettings(BaseSettings):
    """The vendors' credentials and webhook secrets are not here: each connector's settings hold its own."""

    model_config = SettingsConfigDict(env_prefix="Q2C_", env_nested_delimiter="__")

    temporal_profile: str | None = Field(default=None, description="profile in temporal.toml; env overrides it")
    task_queue: str = TASK_QUEUE
    ingress_host: str = "127.0.0.1"
    ingress_port: int = 8000
    ingress_max_body_bytes: int = 1_000_000
    ingress_public_url: str | None = Field(
        default=None, description="the URL HubSpot calls, as it signs it (behind a proxy it differs from ours)"
    )
    submit_api_keys: dict[str, SecretStr] = Field(
        default_factory=dict, description='the submit API\'s callers, {"caller": "key"}; none: every call refused'
    )
    erp_activities_per_second: float | None = Field(
        default=20.0, description="task-queue-wide rate limit of ERP calls (Temporal enforces it); unset: none"
    )
    max_cached_workflows: int = Field(
        default=1000, ge=0, description="workflows a worker keeps in memory (the SDK's default; BENCHMARKS.md: RSS)"
    )
    policies: dict[Region, SagaPolicy] = Field(default_factory=dict, description="per-region saga policy")
    contracts: ContractPolicy | None = Field(
        default=None, description="keep contracts: a completed sale opens its Contract entity (`{}`: the defaults)"
    )
    contract_policies: dict[Region, ContractPolicy] = Field(default_factory=dict, description="per-region contracts")

    log_format: Literal["json", "console"] | None = Field(default=None, description="unset: JSON unless a terminal")
    log_level: str = "INFO"
    traces: str | None = Field(default=None, description="otlp, console, file:<path>, off; unset: OTLP if configured")
    metrics_bind: str | None = Field(default=None, description="worker's Prometheus endpoint, e.g. 0.0.0.0:9464")

    codec_keys: SecretStr | None = Field(default=None, description="id=base64key,...; the first one encrypts")
    codec_keys_file: Path | None = Field(default=None, description='JSON {"active": id, "keys": {id: base64}}')
    codec_server_host: str = "127.0.0.1"
    codec_server_port: int = 8081
    codec_server_token: SecretStr | None = None
    codec_cors_origins: list[str] = Field(default_factory=lambda: ["http://localhost:8233", "http://localhost:8080"])

    def saga_terms(self) -> dict[str, Any]:
        """What every start of a saga carries from configuration: regional policy and the contract policy."""
        return {"policies": self.policies, "contracts": self.contracts, "contract_policies": self.contract_policies}

    def key_ring(self) -> KeyRing | None:
        """Payload encryption keys, from the environment or a secrets file; None leaves payloads plain."""
        if self.codec_keys is not None:
            return KeyRing.parse(self.codec_keys.get_secret_value())
        if self.codec_keys_file is not None:
            return KeyRing.load(self.codec_keys_file)
        return None
