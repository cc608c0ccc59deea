"""Pub/sub tables (ADR 0054): event types of a room, subscriptions, published events and one
delivery row per (event, subscription) — the record of every hand-over."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.db import Base, JSONValue, UTCDateTime


class EventTypeRow(Base):
    """An event type registered in a room (a subsystem ``INSTANCE/CLASS/MEMBER/SUBSYSTEM``)."""

    __tablename__ = "pubsub_event_types"

    room: Mapped[str] = mapped_column(String(300), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100), primary_key=True)
    schema: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SubscriptionRow(Base):
    """A machine client's subscription to one event type of a room."""

    __tablename__ = "pubsub_subscriptions"
    __table_args__ = (UniqueConstraint("room", "event_type", "subscriber"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    room: Mapped[str] = mapped_column(String(300))
    event_type: Mapped[str] = mapped_column(String(100))
    subscriber: Mapped[str] = mapped_column(String(200))  # client:<prefix>
    subscriber_im: Mapped[str | None] = mapped_column(String(300))
    # the client's department when it subscribed: which case events it may receive (ADR 0057)
    subscriber_department: Mapped[str | None] = mapped_column(String(50))
    delivery: Mapped[str] = mapped_column(String(10))  # PUSH | PULL
    push_url: Mapped[str | None] = mapped_column(String(500))
    ttl_seconds: Mapped[int] = mapped_column(Integer)
    fifo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PublishedEventRow(Base):
    """An event accepted for publishing (its payload is kept for delivery, never audited)."""

    __tablename__ = "pubsub_events"
    __table_args__ = (
        UniqueConstraint("publisher", "idempotency_key"),
        Index("ix_pubsub_events_room_type", "room", "event_type"),
    )

    sequence: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[str] = mapped_column(String(36), unique=True)
    room: Mapped[str] = mapped_column(String(300))
    event_type: Mapped[str] = mapped_column(String(100))
    publisher: Mapped[str] = mapped_column(String(200))
    publisher_im: Mapped[str] = mapped_column(String(300))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    body_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryRow(Base):
    """One event for one subscription: pending, delivered, acknowledged, dead or cancelled."""

    __tablename__ = "pubsub_deliveries"
    __table_args__ = (Index("ix_pubsub_deliveries_due", "subscription_id", "status"),)

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sequence: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AllowedSubscriberRow(Base):
    """A machine client the room's owner or an operator allows to subscribe to the room (ADR
    0057); the room's own client needs no row."""

    __tablename__ = "pubsub_allowed_subscribers"

    room: Mapped[str] = mapped_column(String(300), primary_key=True)
    subscriber: Mapped[str] = mapped_column(String(200), primary_key=True)  # client:<prefix>
    subscriber_im: Mapped[str | None] = mapped_column(String(300))
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
