"""Where dispatched outbox messages go."""

from __future__ import annotations

from typing import Protocol

from civicloom.outbox.domain import OutboxMessage


class Publisher(Protocol):
    """Delivers one outbox message; raising means 'try again later'."""

    async def publish(self, message: OutboxMessage) -> None: ...

    async def close(self) -> None: ...
