"""Where dispatched outbox messages go."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol, runtime_checkable

from civicloom.outbox.domain import OutboxMessage
from civicloom.outbox.events import EventType


class Publisher(Protocol):
    """Delivers one outbox message; raising means 'try again later'."""

    async def publish(self, message: OutboxMessage) -> None: ...

    async def close(self) -> None: ...


@runtime_checkable
class Consumer(Protocol):
    """A worker subscriber that names itself and the event types it handles (see ``EVENTS``)."""

    name: str
    handles: frozenset[EventType]

    def __call__(self, message: OutboxMessage) -> Awaitable[float | None]: ...
