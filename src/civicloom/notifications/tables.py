"""Tables of notifications: deliveries (one per person, channel and event) and preferences."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.db import Base, JSONValue, UTCDateTime


class DeliveryRow(Base):
    """One message to one person over one channel, with its delivery status."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("source_key", "recipient_id", "channel", name="uq_notification_once"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    source_key: Mapped[str] = mapped_column(String(200))  # event id or GovStack request uid
    batch_id: Mapped[str | None] = mapped_column(String(64), index=True)
    application_id: Mapped[str | None] = mapped_column(String(36), index=True)
    recipient_id: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(320))
    template: Mapped[str] = mapped_column(String(120))
    template_version: Mapped[str] = mapped_column(String(20))
    locale: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PreferenceRow(Base):
    """A person's contact details, language and preferred channels."""

    __tablename__ = "notification_preferences"

    subject: Mapped[str] = mapped_column(String(200), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(20))
    locale: Mapped[str] = mapped_column(String(10))
    channels: Mapped[list[Any]] = mapped_column(JSONValue)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
