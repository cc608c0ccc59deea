"""Read queries other modules ask of notifications, answered with views (ADR 0027)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.notifications.domain import ChannelKind, sms_fragments
from civicloom.notifications.tables import DeliveryRow


@dataclass(frozen=True)
class SentMessage:
    """A message that left the platform: by which channel, when, about which application."""

    application_id: str | None
    channel: str
    sent_at: datetime
    fragments: int = 1  # an SMS: the parts it went as (``sms_fragments``); otherwise 1


async def messages_sent(session: AsyncSession, start: datetime, end: datetime) -> list[SentMessage]:
    """Every delivery sent in ``[start, end)`` (one statement), for the funding meters."""
    rows = await session.execute(
        select(
            DeliveryRow.application_id,
            DeliveryRow.channel,
            DeliveryRow.sent_at,
            case((DeliveryRow.channel == ChannelKind.SMS.value, DeliveryRow.body_text), else_=""),
        )
        .where(DeliveryRow.sent_at >= start)
        .where(DeliveryRow.sent_at < end)
    )
    return [
        SentMessage(a, c, at, sms_fragments(body) if c == ChannelKind.SMS.value else 1)
        for a, c, at, body in rows
        if at is not None
    ]
