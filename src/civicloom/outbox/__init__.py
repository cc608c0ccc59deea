"""Transactional outbox: anything that leaves the process is first a row in the same transaction."""

from civicloom.outbox.domain import CloudEvent, OutboxMessage
from civicloom.outbox.ports import Publisher
from civicloom.outbox.services import (
    claim_due,
    enqueue_event,
    mark_dispatched,
    mark_failed,
    oldest_pending_age,
)
from civicloom.outbox.tables import OutboxRow

__all__ = [
    "CloudEvent",
    "OutboxMessage",
    "OutboxRow",
    "Publisher",
    "claim_due",
    "enqueue_event",
    "mark_dispatched",
    "mark_failed",
    "oldest_pending_age",
]
