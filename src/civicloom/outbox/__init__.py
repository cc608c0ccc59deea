"""Transactional outbox: anything that leaves the process is first a row in the same transaction."""

from civicloom.outbox.domain import CloudEvent, OutboxMessage
from civicloom.outbox.events import (
    EVENTS,
    EXCHANGE,
    INTERNAL_PREFIX,
    NOTIFICATIONS,
    EventRoute,
    EventType,
)
from civicloom.outbox.ports import Consumer, Publisher
from civicloom.outbox.services import (
    claim_due,
    enqueue_event,
    mark_dispatched,
    mark_failed,
    oldest_pending_age,
)
from civicloom.outbox.tables import OutboxRow

__all__ = [
    "EVENTS",
    "EXCHANGE",
    "INTERNAL_PREFIX",
    "NOTIFICATIONS",
    "CloudEvent",
    "Consumer",
    "EventRoute",
    "EventType",
    "OutboxMessage",
    "OutboxRow",
    "Publisher",
    "claim_due",
    "enqueue_event",
    "mark_dispatched",
    "mark_failed",
    "oldest_pending_age",
]
