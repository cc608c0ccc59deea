"""Audit tables: entries (one hash chain per subject) and signed seals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.db import Base, JSONValue, UTCDateTime


class AuditEntryRow(Base):
    """One audit entry; rows are only ever inserted (on PostgreSQL the app role cannot update)."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        UniqueConstraint("chain", "position", name="uq_audit_entries_chain_position"),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    chain: Mapped[str] = mapped_column(String(160))
    position: Mapped[int]
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    # Who acted without the sign-in channel ("dev-login:alice" -> "alice"): search by person is
    # an indexed equality, not ``actor LIKE '%:alice'`` (issue 23). Not part of the hash.
    actor_subject: Mapped[str | None] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(100))
    subject_type: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[str] = mapped_column(String(100), index=True)
    department: Mapped[str | None] = mapped_column(String(50), index=True)
    purpose: Mapped[str | None] = mapped_column(String(200))
    fields: Mapped[list[str]] = mapped_column(JSONValue)
    details: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditSealRow(Base):
    """A signed Merkle root over every chain head at one moment; seals are chained too."""

    __tablename__ = "audit_seals"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    up_to_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    heads: Mapped[list[list[Any]]] = mapped_column(JSONValue)  # [[chain, position, hash], ...]
    root: Mapped[str] = mapped_column(String(64))
    prev_root: Mapped[str] = mapped_column(String(64))
    kid: Mapped[str] = mapped_column(String(100))
    signature: Mapped[str] = mapped_column(Text)  # compact JWS over the seal's payload
