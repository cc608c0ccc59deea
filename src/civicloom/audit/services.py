"""Appending to and verifying the audit chain."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit.domain import GENESIS_HASH, AuditRecord, chain_hash
from civicloom.audit.tables import AuditEntryRow

# Any constant works; it only has to be the same for every writer of the chain.
_AUDIT_LOCK_KEY = 0x43_49_56_41  # "CIVA"


async def append_audit(session: AsyncSession, record: AuditRecord) -> AuditEntryRow:
    """Add an entry to the chain inside the caller's transaction.

    On PostgreSQL a transaction-scoped advisory lock orders concurrent writers so the
    chain never forks; call this last in the use case so the lock is held only until commit.
    SQLite already has a single writer.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _AUDIT_LOCK_KEY})
    last = await session.scalar(
        select(AuditEntryRow.hash).order_by(AuditEntryRow.seq.desc()).limit(1)
    )
    previous = last or GENESIS_HASH
    row = AuditEntryRow(
        occurred_at=record.occurred_at,
        actor=record.actor,
        action=record.action,
        subject_type=record.subject_type,
        subject_id=record.subject_id,
        department=record.department,
        purpose=record.purpose,
        fields=list(record.fields),
        details=record.details,
        prev_hash=previous,
        hash=chain_hash(previous, record),
    )
    session.add(row)
    await session.flush()
    return row


@dataclass(frozen=True)
class ChainReport:
    """Result of checking the whole chain."""

    entries: int
    valid: bool
    first_bad_seq: int | None = None


async def verify_chain(session: AsyncSession) -> ChainReport:
    """Recompute every hash in order; report the first entry that does not match."""
    previous = GENESIS_HASH
    count = 0
    result = await session.stream_scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq))
    async for row in result:
        count += 1
        record = AuditRecord(
            actor=row.actor,
            action=row.action,
            subject_type=row.subject_type,
            subject_id=row.subject_id,
            occurred_at=row.occurred_at,
            department=row.department,
            purpose=row.purpose,
            fields=tuple(row.fields),
            details=row.details,
        )
        if row.prev_hash != previous or row.hash != chain_hash(previous, record):
            return ChainReport(entries=count, valid=False, first_bad_seq=row.seq)
        previous = row.hash
    return ChainReport(entries=count, valid=True)
