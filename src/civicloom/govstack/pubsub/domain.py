"""Pub/sub vocabulary (ADR 0054): rooms, delivery modes and statuses, the answers' shapes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from civicloom.kernel import DomainError, FieldError, ValidationFailed

EVENT_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,99}$")
DEFAULT_TTL_SECONDS = 3600
MAX_TTL_SECONDS = 7 * 24 * 3600
"""No event waits longer than a week for a subscriber, whatever it asks."""
PUSH_TIMEOUT_SECONDS = 10.0
SIGNATURE_HEADER = "X-Civicloom-Signature"
SIGNATURE_TYPE = "govstack-event+jws"


class Delivery(StrEnum):
    """How a subscriber gets its events."""

    PUSH = "PUSH"  # the worker posts each event to the subscriber's registered endpoint
    PULL = "PULL"  # the subscriber fetches the next one and acknowledges it


class DeliveryStatus(StrEnum):
    """Where one event stands for one subscription."""

    PENDING = "pending"  # not handed over yet
    DELIVERED = "delivered"  # pushed (2xx) or fetched and awaiting acknowledgement
    ACKNOWLEDGED = "acknowledged"  # a PULL subscriber confirmed it
    DEAD = "dead"  # gave up: attempts exhausted or older than the subscription's TTL
    CANCELLED = "cancelled"  # the publisher withdrew the event, or the subscription ended


OPEN = (DeliveryStatus.PENDING, DeliveryStatus.DELIVERED)
"""Statuses a cancellation or an expiry still ends."""


class BadRequest(ValidationFailed):
    """The IM pub/sub API answers an invalid request with 400 (the body names the field)."""

    status = 400


class NotSubscribedForPull(DomainError):
    """The caller has no PULL subscription to this event type (409, as the spec says)."""

    slug = "conflict"
    title = "Conflict"
    status = 409


def check_event_type(name: str, where: str = "eventType") -> None:
    """An event type's name: a letter, then letters, digits, '.', '_' or '-' (100 at most)."""
    if not EVENT_TYPE.match(name):
        raise BadRequest(
            [FieldError(where, "pattern", "a letter, then letters, digits, '.', '_' or '-'")]
        )


def split_room(room: str) -> dict[str, str]:
    """``INSTANCE/CLASS/MEMBER/SUBSYSTEM`` as the spec's ``publisherId``/``subscriberId``."""
    parts = room.split("/")
    if len(parts) != 4:
        return {}
    names = ("instanceId", "memberClass", "memberCode", "applicationCode")
    return dict(zip(names, parts, strict=True))


@dataclass(frozen=True)
class SubscriptionView:
    """A subscription as the API shows it (``SubscriptionItem``)."""

    id: str
    room: str
    event_type: str
    subscriber_im: str | None
    delivery: Delivery
    push_url: str | None
    ttl_seconds: int
    fifo: bool

    def item(self) -> dict[str, Any]:
        """The spec's ``SubscriptionItem`` (``pushUrl`` is civicloom's: where PUSH goes)."""
        return {
            "id": self.id,
            "subscriberId": split_room(self.subscriber_im) if self.subscriber_im else None,
            "eventType": self.event_type,
            "delivery": self.delivery.value,
            "pushUrl": self.push_url,
            "options": {"TTL": self.ttl_seconds, "FIFO": self.fifo},
        }


@dataclass(frozen=True)
class EventView:
    """A published event as its subscribers receive it (``EventItem``)."""

    id: str
    sequence: int
    room: str
    event_type: str
    payload: dict[str, Any]
    published_at: datetime

    def item(self) -> dict[str, Any]:
        """The spec's ``EventItem``."""
        return {
            "id": self.id,
            "sequence": self.sequence,
            "publisherId": split_room(self.room),
            "eventType": self.event_type,
            "event": self.payload,
        }


@dataclass(frozen=True)
class DeliveryView:
    """One subscription's delivery of an event (the publisher's status view)."""

    subscriber_im: str | None
    delivery: str
    status: str
    attempts: int
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    acknowledged_at: datetime | None
    last_error: str | None

    def item(self) -> dict[str, Any]:
        """As the status answer lists it (no subscriber endpoint, no client key)."""
        return {
            "subscriberId": split_room(self.subscriber_im) if self.subscriber_im else None,
            "delivery": self.delivery,
            "status": self.status,
            "attempts": self.attempts,
            "lastAttemptAt": _iso(self.last_attempt_at),
            "deliveredAt": _iso(self.delivered_at),
            "acknowledgedAt": _iso(self.acknowledged_at),
            "lastError": publisher_words(self.last_error),
        }


def publisher_words(error: str | None) -> str | None:
    """What the publisher is told of a delivery's last error: words about what happened, never
    the subscriber's endpoint, its answer or the platform's exception (those stay in the
    delivery record and the worker's log for operators)."""
    if error is None:
        return None
    if error.startswith("HTTP 4"):
        return "the subscriber's system refused the event"
    if error.startswith("HTTP "):
        return "the subscriber's system failed to take the event"
    if error == "expired (TTL)":
        return "the event waited longer than the subscription allows"
    if "no longer allowed" in error:
        return "the subscriber is no longer allowed in this room"
    if "non-public address" in error:
        return "the subscriber's endpoint is not on a public network"
    if "no longer registered" in error:
        return "the subscriber's endpoint is no longer registered"
    if "Timeout" in error.split(":", 1)[0]:
        return "the subscriber's system did not answer in time"
    return "the subscriber's system could not be reached"


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None
