"""What an audit entry says, and how entries are chained."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from civicloom.kernel import canonical_json, sha256_hex

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditRecord:
    """Who did what to which subject, when and why; never the personal data itself."""

    actor: str
    action: str
    subject_type: str
    subject_id: str
    occurred_at: datetime
    department: str | None = None
    purpose: str | None = None
    fields: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def canonical(self) -> str:
        """The stable text that the chain hash covers."""
        return canonical_json(
            {
                "actor": self.actor,
                "action": self.action,
                "subject_type": self.subject_type,
                "subject_id": self.subject_id,
                "occurred_at": self.occurred_at.isoformat(),
                "department": self.department,
                "purpose": self.purpose,
                "fields": list(self.fields),
                "details": self.details,
            }
        )


def chain_hash(previous: str, record: AuditRecord) -> str:
    """The hash of an entry: SHA-256 over the previous hash and the entry's canonical text."""
    return sha256_hex(previous + "\n" + record.canonical())
