"""What an audit entry says, how entries are chained, and the Merkle tree of seals."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from civicloom.audit.actions import PERSONAL_DATA_READS, AuditAction
from civicloom.kernel import canonical_json, sha256_hex

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditRecord:
    """Who did what to which subject, when and why; never the personal data itself.

    A read of personal data is an entry whose ``action`` is a personal-data read (see
    ``AuditAction.personal_data_read``) and whose ``fields`` name the fields read; ``purpose``
    says why.
    """

    actor: str
    action: AuditAction
    subject_type: str
    subject_id: str
    occurred_at: datetime
    department: str | None = None
    purpose: str | None = None
    fields: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def chain(self) -> str:
        """The chain this entry belongs to: one per subject (e.g. one per application)."""
        return chain_key(self.subject_type, self.subject_id)

    @property
    def is_personal_data_read(self) -> bool:
        """Whether this entry records someone reading personal data."""
        return bool(self.fields) and self.action in PERSONAL_DATA_READS

    def canonical(self) -> str:
        """The stable text that the chain hash covers."""
        return canonical_json(
            {
                "actor": self.actor,
                "action": str(self.action),
                "subject_type": self.subject_type,
                "subject_id": self.subject_id,
                "occurred_at": self.occurred_at.isoformat(),
                "department": self.department,
                "purpose": self.purpose,
                "fields": list(self.fields),
                "details": self.details,
            }
        )


def chain_key(subject_type: str, subject_id: str) -> str:
    """The chain id of a subject, e.g. ``application:7f0c…``."""
    return f"{subject_type}:{subject_id}"


def chain_hash(previous: str, record: AuditRecord) -> str:
    """The hash of an entry: SHA-256 over the previous hash and the entry's canonical text."""
    return sha256_hex(previous + "\n" + record.canonical())


# --- Merkle tree over chain heads (RFC 6962 style domain separation) -------------------------


@dataclass(frozen=True)
class ChainHead:
    """The last entry of one chain at the moment of a seal."""

    chain: str
    position: int
    hash: str

    def leaf(self) -> str:
        """The Merkle leaf hash of this head."""
        data = f"{self.chain}\n{self.position}\n{self.hash}".encode()
        return hashlib.sha256(b"\x00" + data).hexdigest()


def _node(left: str, right: str) -> str:
    return hashlib.sha256(b"\x01" + bytes.fromhex(left) + bytes.fromhex(right)).hexdigest()


def merkle_root(leaves: list[str]) -> str:
    """The root over leaf hashes (an odd node is promoted); the empty tree's root is zeros."""
    if not leaves:
        return GENESIS_HASH
    level = list(leaves)
    while len(level) > 1:
        nxt = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def merkle_proof(leaves: list[str], index: int) -> list[tuple[str, str]]:
    """The audit path of leaf ``index``: (side, sibling hash) pairs from the leaf upwards."""
    path: list[tuple[str, str]] = []
    level = list(leaves)
    while len(level) > 1:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(("left" if sibling < index else "right", level[sibling]))
        nxt = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level, index = nxt, index // 2
    return path


def verify_merkle_proof(leaf: str, path: list[tuple[str, str]], root: str) -> bool:
    """Whether a leaf and its audit path lead to the root."""
    current = leaf
    for side, sibling in path:
        current = _node(sibling, current) if side == "left" else _node(current, sibling)
    return current == root
