"""The channel port: one adapter per way of reaching a person."""

from __future__ import annotations

from typing import Protocol

from civicloom.notifications.domain import Outgoing


class Channel(Protocol):
    """Sends one message; raises on failure (the outbox retries). Returns a provider id."""

    provider: str  # rate limits are per provider

    async def send(self, message: Outgoing) -> str:
        """Hand the message to the provider, idempotently by ``message.id`` where it can."""
        ...
