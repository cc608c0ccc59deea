"""Outbox messages and the CloudEvents envelope they carry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from civicloom.kernel import new_id
from civicloom.outbox.events import EventType


@dataclass(frozen=True)
class CloudEvent:
    """A CloudEvents 1.0 event (structured JSON mode); its type is one of ``EventType``."""

    type: EventType
    source: str
    subject: str
    time: datetime
    data: dict[str, Any]
    id: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The structured-mode JSON object."""
        return {
            "specversion": "1.0",
            "id": self.id or new_id(),
            "type": self.type.value,
            "source": self.source,
            "subject": self.subject,
            "time": self.time.isoformat(),
            "datacontenttype": "application/json",
            "data": self.data,
        }


@dataclass(frozen=True)
class OutboxMessage:
    """A claimed message, handed to a publisher.

    ``attempts`` is also the claim's fencing token (ADR 0045): the lease round this relay holds.
    """

    id: int
    topic: str
    key: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    lease_until: datetime | None = None


@dataclass(frozen=True)
class OutboxBacklog:
    """What waits in the outbox at one moment (the operator page and ``/metrics``)."""

    pending: int  # not dispatched yet, not dead
    dead: int  # gave up after too many attempts
    oldest_pending_at: datetime | None

    def lag_seconds(self, now: datetime) -> float:
        """Seconds since the oldest pending message was written (0 if none)."""
        if self.oldest_pending_at is None:
            return 0.0
        return max(0.0, (now - self.oldest_pending_at).total_seconds())
