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
    """A claimed message, handed to a publisher."""

    id: int
    topic: str
    key: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
