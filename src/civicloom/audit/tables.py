"""Audit tables: entries (one hash chain per subject), signed seals, and the log of personal-data
reads waiting to be folded into their chains (ADR 0073)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.db import Base, JSONValue, UTCDateTime


class AuditEntryRow(Base):
    """One audit entry; rows are only ever inserted (on PostgreSQL the app role cannot update)."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        UniqueConstraint("chain", "position", name="uq_audit_entries_chain_position"),
        # A read folded from ``audit_read_log`` is in a chain once (ADR 0073); other entries
        # have no read id and are left out of the index.
        Index(
            "uq_audit_entries_read_id",
            "read_id",
            unique=True,
            postgresql_where=text("read_id IS NOT NULL"),
            sqlite_where=text("read_id IS NOT NULL"),
        ),
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
    # The ``audit_read_log`` row this entry was folded from (ADR 0073); not part of the hash.
    read_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))


class AuditReadRow(Base):
    """A read of personal data recorded by the request that made it, not yet in its chain.

    One small insert in the reader's transaction (no chain lock, no head read, no hash); the
    worker folds rows into their chains in id order and deletes them in the same transaction
    (``audit.reads``, ADR 0073). The app role may not update or truncate it, and on PostgreSQL
    a row can only be deleted by a transaction that appended its entry (a deferred trigger,
    migration 0037).
    """

    __tablename__ = "audit_read_log"
    # SQLite reuses the highest rowid once its row is deleted (folded): AUTOINCREMENT never
    # does, so a read id names one read for good, as a PostgreSQL sequence does.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    actor_subject: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    subject_type: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[str] = mapped_column(String(100), index=True)
    department: Mapped[str | None] = mapped_column(String(50))
    purpose: Mapped[str | None] = mapped_column(String(200))
    fields: Mapped[list[str]] = mapped_column(JSONValue)
    details: Mapped[dict[str, Any]] = mapped_column(JSONValue)


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
