"""What every adapter shares: it owns its vendor client and closes it with itself."""

from __future__ import annotations

from typing import Generic, Self, TypeVar

from connectors.http import VendorClient

C = TypeVar("C", bound=VendorClient)


class Adapter(Generic[C]):
    """A port's implementation over one vendor client; `name` is the vendor's name in configuration."""

    name: str

    def __init__(self, client: C) -> None:
        self.client = client

    @property
    def requests_per_second(self) -> int | None:
        """The ceiling on this vendor's requests per second in this process (`Q2C_<VENDOR>_REQUESTS_PER_SECOND`)."""
        return self.client.settings.requests_per_second

    async def aclose(self) -> None:
        await self.client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()
