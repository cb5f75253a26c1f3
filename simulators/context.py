"""What every simulator shares: the store, its settings, randomness and background deliveries."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.responses import Response

from simulators.store import Store


class SimulatorSettings(BaseSettings):
    """Credentials the simulators accept, where they deliver webhooks, how they behave."""

    model_config = SettingsConfigDict(env_prefix="Q2C_SIM_")

    host: str = "127.0.0.1"
    port: int = 8100
    db: str = ":memory:"
    hubspot_token: str = "pat-na1-q2c-dev"
    hubspot_app_secret: str = "hubspot-app-secret-dev"
    hubspot_webhook_url: str | None = None
    netsuite_token: str | None = None  # a static bearer token to accept as well (curl); None: OAuth only
    netsuite_concurrency: int = 5
    netsuite_account: str = "1234567"  # the OAuth 1.0a realm
    netsuite_consumer_key: str = "q2c-dev-consumer-key"
    netsuite_consumer_secret: str = "q2c-dev-consumer-secret"
    netsuite_token_id: str = "q2c-dev-token-id"
    netsuite_token_secret: str = "q2c-dev-token-secret"
    netsuite_client_id: str = "q2c-dev-client-id"
    netsuite_certificate_id: str = "q2c-dev-certificate"
    netsuite_certificate: str | None = None  # PEM certificate or public key (inline or a path) for OAuth 2.0 M2M
    netsuite_token_ttl_s: int = 3600
    netsuite_clock_skew_s: int = 300
    stripe_key: str = "sk_test_q2c_dev"
    stripe_webhook_secret: str = "whsec_q2c_dev"
    stripe_webhook_url: str | None = None
    stripe_spec: str | None = None
    zendesk_token: str = "zendesk-token-dev"
    zendesk_email: str = "agent@q2c.example"
    zendesk_webhook_url: str | None = None
    zendesk_webhook_secret: str = "zendesk-webhook-secret-dev"
    zendesk_rate_limit: int | None = None  # requests a minute; refused past it only when set
    salesforce_org_id: str = "00D5g000004q2cDEAQ"
    salesforce_client_id: str = "3MVG9q2c.dev.connected.app.consumer.key"
    salesforce_client_secret: str = "q2c-salesforce-consumer-secret-dev"
    salesforce_username: str = "integration@q2c.example"
    salesforce_jwt_public_key: str | None = None  # the connected app's certificate (PEM text or a path)
    salesforce_session_ttl_s: float = 7200.0
    salesforce_daily_limit: int = 1_000_000
    salesforce_outbound_url: str | None = None
    webhook_attempts: int = 10
    webhook_copies: int = 1
    webhook_backoff_s: float = 0.5
    seed: bool = True
    random_seed: int = 7

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


class ErrorRenderer(Protocol):
    def __call__(self, status: int, code: str, message: str, retry_after: float | None = None) -> Response: ...


@dataclass
class SimContext:
    settings: SimulatorSettings
    store: Store
    rng: random.Random
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    not_before: dict[tuple[str, ...], float] = field(default_factory=dict)
    early_retries: list[dict[str, object]] = field(default_factory=list)

    def background(self, make: Callable[[], Coroutine[Any, Any, None]]) -> None:
        task = asyncio.get_running_loop().create_task(make())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def base_url(self, system: str) -> str:
        override = self.store.setting("base_url")
        return f"{override or self.settings.base_url}/{system}"
