"""The pooled transport's failures, as httpx's own transport would name them: connectors classify them the same
way, and the log says what happened (a request that never left, or one the vendor may have received)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from connectors.transport import vendor_transport


@pytest.fixture
async def hangs_up() -> AsyncIterator[str]:
    """A server that reads a request and closes the connection without answering."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}"


async def test_a_connection_closed_after_the_request_is_a_protocol_error_not_a_connect_error(hangs_up):
    """httpx says `RemoteProtocolError` ("Server disconnected without sending a response"): the request may
    have reached the vendor, which a `ConnectError` would deny."""
    async with httpx.AsyncClient(transport=vendor_transport()) as client:
        with pytest.raises(httpx.RemoteProtocolError) as info:
            await client.post(f"{hangs_up}/services/rest/record/v1/salesOrder", json={})
    assert "ServerDisconnectedError" in str(info.value)


async def test_a_refused_connection_is_a_connect_error():
    async with httpx.AsyncClient(transport=vendor_transport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("http://127.0.0.1:9/")
