"""The storage port: where document bytes live (local filesystem or S3-compatible storage)."""

from __future__ import annotations

from typing import BinaryIO, Protocol


class DocumentStore(Protocol):
    """Blob storage addressed by opaque keys that we generate (never from user input)."""

    name: str

    async def put(self, key: str, source: BinaryIO, media_type: str) -> None:
        """Store the whole file object under ``key`` (atomically: all or nothing)."""
        ...

    async def get(self, key: str) -> bytes:
        """The stored bytes; raise KeyError if absent."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; absent objects are ignored."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        ...
