"""Transactional outbox: anything that leaves the process is first a row in the same transaction."""

from civicloom.outbox.domain import CloudEvent, OutboxBacklog, OutboxMessage
from civicloom.outbox.events import (
    CASE_EVENTS_ROOM,
    EVENTS,
    EXCHANGE,
    INTERNAL_PREFIX,
    NOTIFICATIONS,
    EventRoute,
    EventType,
)
from civicloom.outbox.ports import Consumer, Publisher
from civicloom.outbox.services import (
    MAX_ATTEMPTS,
    claim_due,
    enqueue_event,
    mark_dispatched,
    mark_failed,
    oldest_pending_age,
    outbox_backlog,
    pending_backlog,
    postpone,
    purge_sent,
    renew_lease,
)

__all__ = [
    "CASE_EVENTS_ROOM",
    "EVENTS",
    "EXCHANGE",
    "INTERNAL_PREFIX",
    "MAX_ATTEMPTS",
    "NOTIFICATIONS",
    "CloudEvent",
    "Consumer",
    "EventRoute",
    "EventType",
    "OutboxBacklog",
    "OutboxMessage",
    "Publisher",
    "claim_due",
    "enqueue_event",
    "mark_dispatched",
    "mark_failed",
    "oldest_pending_age",
    "outbox_backlog",
    "pending_backlog",
    "postpone",
    "purge_sent",
    "renew_lease",
]
