"""Connecting to Temporal the same way locally, on a cluster or on Temporal Cloud."""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import Tracer
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from infra.codec import KeyRing, encrypted
from workflows import search

FROM_SETTINGS: Any = object()

_INDEX = {"Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, "Double": IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE}


def connect_config(profile: str | None = None) -> dict[str, Any]:
    """Temporal's environment configuration: `temporal.toml` profile, then TEMPORAL_* variables.

    Address, namespace, TLS/mTLS and API key all come from there, so the same worker runs against
    the dev server, a self-hosted cluster or Temporal Cloud without a code change.
    """
    config: dict[str, Any] = dict(ClientConfig.load_client_connect_config(profile=profile))
    config.setdefault("target_host", "localhost:7233")
    config.setdefault("namespace", "default")
    return config


async def connect(
    profile: str | None = None,
    *,
    ring: KeyRing | None = FROM_SETTINGS,
    runtime: Runtime | None = None,
    tracer: Tracer | None = None,
    **overrides: Any,
) -> Client:
    """A client with q2c's converter, payload encryption (when keys are configured) and tracing.

    The tracing interceptor is also a worker interceptor, so a worker built on this client traces its
    workflows and activities too; without a tracer provider its spans cost next to nothing.
    """
    if ring is FROM_SETTINGS:
        from infra.settings import Q2CSettings

        ring = Q2CSettings().key_ring()
    return await Client.connect(
        **{**connect_config(profile), **overrides},
        data_converter=encrypted(pydantic_data_converter, ring),
        interceptors=[TracingInterceptor(tracer)],
        runtime=runtime,
    )


async def register_search_attributes(client: Client) -> list[str]:
    """Add q2c's search attributes where missing (self-hosted and dev; on Cloud, add them in the UI)."""
    wanted = {key.name: _INDEX[key._metadata_type] for key in search.ALL}
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        missing = {name: kind for name, kind in wanted.items() if name not in existing.custom_attributes}
    except RPCError as error:
        if error.status is not RPCStatusCode.UNIMPLEMENTED:  # Temporal's test server lists nothing
            raise
        missing = wanted
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)
