"""Read queries other modules ask of notifications, answered with views (ADR 0027)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.notifications.tables import DeliveryRow


@dataclass(frozen=True)
class SentMessage:
    """A message that left the platform: by which channel, when, about which application."""

    application_id: str | None
    channel: str
    sent_at: datetime


async def messages_sent(session: AsyncSession, start: datetime, end: datetime) -> list[SentMessage]:
    """Every delivery sent in ``[start, end)`` (one statement), for the funding meters."""
    rows = await session.execute(
        select(DeliveryRow.application_id, DeliveryRow.channel, DeliveryRow.sent_at)
        .where(DeliveryRow.sent_at >= start)
        .where(DeliveryRow.sent_at < end)
    )
    return [SentMessage(a, c, at) for a, c, at in rows if at is not None]
