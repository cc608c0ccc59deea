"""Appending to the audit chains, recording personal-data reads, and reading the data-use log
of a citizen."""

from __future__ import annotations

import getpass
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit.actions import PERSONAL_DATA_READS, AuditAction
from civicloom.audit.domain import GENESIS_HASH, AuditRecord, chain_hash
from civicloom.audit.tables import AuditEntryRow, AuditReadRow
from civicloom.audit.trail import Audited, newest_first, trail
from civicloom.db.pending import add_pending, pending_count, write_pending

# Appenders hold this lock shared, a seal holds it exclusively: a seal then sees every
# entry whose sequence number it covers (PostgreSQL allocates sequence values before commit).
SEAL_LOCK_KEY = 0x43_49_56_53  # "CIVS"


def chain_lock_key(chain: str) -> int:
    """A signed 64-bit advisory lock key for one chain."""
    digest = hashlib.sha256(f"civicloom.audit:{chain}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


_HEADS = "civicloom.audit.chain_heads"


def _heads(session: AsyncSession) -> dict[str, tuple[int, str]]:
    """Chain heads already locked and read in the session's current transaction."""
    transaction = session.sync_session.get_transaction()
    cached = session.info.get(_HEADS)
    if cached is None or cached[0] is not transaction:
        cached = (transaction, {})
        session.info[_HEADS] = cached
    heads: dict[str, tuple[int, str]] = cached[1]
    return heads


def actor_subject(actor: str) -> str:
    """Who acted, without the channel: ``oidc-citizen:urn:x:1`` -> ``urn:x:1`` (channels never
    hold a colon; an actor without one is its own subject)."""
    channel, colon, subject = actor.partition(":")
    return subject if colon else channel


async def _head(session: AsyncSession, chain: str) -> tuple[int, str]:
    """The chain's head in this transaction: locked and read once, then followed on from."""
    heads = _heads(session)
    if chain not in heads:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(
                text("SELECT pg_advisory_xact_lock_shared(:seal), pg_advisory_xact_lock(:chain)"),
                {"seal": SEAL_LOCK_KEY, "chain": chain_lock_key(chain)},
            )
        last = (
            await session.execute(
                select(AuditEntryRow.position, AuditEntryRow.hash)
                .where(AuditEntryRow.chain == chain)
                .order_by(AuditEntryRow.position.desc())
                .limit(1)
                .execution_options(autoflush=False)
            )
        ).first()
        heads[chain] = (last[0], last[1]) if last else (0, GENESIS_HASH)
    return heads[chain]


_LOCK_CHAINS = text(
    "SELECT pg_advisory_xact_lock_shared(:seal), count(pg_advisory_xact_lock(k))"
    " FROM unnest(CAST(:keys AS bigint[])) AS k"
)
_READ_HEADS = text(
    "SELECT c.chain, e.position, e.hash FROM unnest(CAST(:chains AS text[])) AS c(chain)"
    " LEFT JOIN LATERAL (SELECT position, hash FROM audit_entries"
    " WHERE chain = c.chain ORDER BY position DESC LIMIT 1) e ON true"
)


async def lock_chains(session: AsyncSession, chains: Iterable[str]) -> None:
    """Lock and read the heads of several chains at once, for a transaction about to append to
    each (the case engine recording a batch of steps): two statements whatever their number,
    instead of two a chain. Chains are locked in sorted order. The heads are read in a second
    statement, after the locks are held: a statement reads the rows committed when it
    started, so one that waited for a lock could miss the entry its holder committed.
    On SQLite (one writer) each head is read as ``append_audit`` reads it."""
    heads = _heads(session)
    todo = sorted({chain for chain in chains if chain not in heads})
    if not todo:
        return
    if session.get_bind().dialect.name != "postgresql":
        for chain in todo:
            await _head(session, chain)
        return
    await session.execute(
        _LOCK_CHAINS, {"seal": SEAL_LOCK_KEY, "keys": [chain_lock_key(c) for c in todo]}
    )
    for chain, position, hash_ in await session.execute(_READ_HEADS, {"chains": todo}):
        heads[chain] = (position, hash_) if position is not None else (0, GENESIS_HASH)


def _entry(
    record: AuditRecord, position: int, previous: str, read_id: int | None = None
) -> dict[str, Any]:
    return {
        "chain": record.chain,
        "position": position,
        "occurred_at": record.occurred_at,
        "actor": record.actor,
        "actor_subject": actor_subject(record.actor),
        "action": record.action,
        "subject_type": record.subject_type,
        "subject_id": record.subject_id,
        "department": record.department,
        "purpose": record.purpose,
        "fields": list(record.fields),
        "details": record.details,
        "prev_hash": previous,
        "hash": chain_hash(previous, record),
        "read_id": read_id,
    }


async def append_audit(session: AsyncSession, record: AuditRecord) -> AuditEntryRow:
    """Add an entry to its subject's chain inside the caller's transaction.

    On PostgreSQL a transaction-scoped advisory lock per chain orders concurrent writers of the
    same application, so its chain never forks (writers of other applications do not wait);
    call this last in the use case so the lock is held only until commit. SQLite has a single
    writer, and the unique (chain, position) constraint refuses a fork on any backend.

    The chain's head is locked and read once per transaction; further entries of the same
    chain in that transaction follow on from it, and rows are inserted with the next flush.
    Entries queued with ``queue_audit`` earlier in the transaction are written first, so
    sequence numbers follow positions.
    """
    position, previous = await _head(session, record.chain)
    if pending_count(session.sync_session):
        await session.run_sync(write_pending)
    entry = _entry(record, position + 1, previous)
    row = AuditEntryRow(**entry)
    _heads(session)[record.chain] = (row.position, row.hash)
    session.add(row)
    return row


_INSERT_ENTRIES = insert(cast(Table, AuditEntryRow.__table__))


async def queue_audit(
    session: AsyncSession, record: AuditRecord, *, read_id: int | None = None
) -> None:
    """``append_audit`` for a caller that needs no row back: the entry (its chain locked and
    its hash computed now, as ``append_audit`` does) is inserted with the transaction's other
    queued entries in one statement, at the next flush point (``civicloom.db.pending``: before
    commit, or before an ORM query in the same transaction). Issue 23, ADR 0067.

    ``read_id``: the ``audit_read_log`` row the entry is folded from (ADR 0073)."""
    position, previous = await _head(session, record.chain)
    entry = _entry(record, position + 1, previous, read_id)
    _heads(session)[record.chain] = (entry["position"], entry["hash"])
    add_pending(session.sync_session, _INSERT_ENTRIES, entry)


_INSERT_READ = insert(cast(Table, AuditReadRow.__table__))


def record_read(session: AsyncSession, record: AuditRecord) -> None:
    """Record a read of personal data in the reader's transaction: one small insert into the
    read log, queued with the transaction's other append-only rows and written before it
    commits (so a read that is shown is recorded, and a read that fails leaves nothing).

    No chain lock, no head read, no hash on the request path: the worker folds the row into
    the subject's chain later (``fold_reads``), and everything that reads the audit trail
    shows rows not yet folded too (ADR 0073). Only reads go this way; a change is appended to
    its chain in its own transaction (``append_audit``, ``queue_audit``).
    """
    if record.action not in PERSONAL_DATA_READS:
        raise ValueError(f"{record.action} is not a read of personal data: append it instead")
    add_pending(
        session.sync_session,
        _INSERT_READ,
        {
            "occurred_at": record.occurred_at,
            "actor": record.actor,
            "actor_subject": actor_subject(record.actor),
            "action": str(record.action),
            "subject_type": record.subject_type,
            "subject_id": record.subject_id,
            "department": record.department,
            "purpose": record.purpose,
            "fields": list(record.fields),
            "details": record.details,
        },
    )


def stored_action(text: str) -> AuditAction:
    """The action of a stored entry.

    An action the enum does not know (an entry altered by hand) keeps its stored text, so the
    chain hash recomputed from it exposes the change instead of failing to parse.
    """
    try:
        return AuditAction(text)
    except ValueError:
        return cast(AuditAction, text)


def cli_actor() -> str:
    """The actor a command-line change is recorded under: ``cli:<operating-system user>``."""
    return f"cli:{getpass.getuser()}"


def record_of_trail(row: Row[Any]) -> AuditRecord:
    """The record of a row of ``audit.trail`` (an entry or a read not yet folded)."""
    return record_of(cast(AuditEntryRow, row))


def record_of(row: AuditEntryRow | AuditReadRow) -> AuditRecord:
    """The record an entry row (or a read not yet folded) stores."""
    return AuditRecord(
        actor=row.actor,
        action=stored_action(row.action),
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        occurred_at=row.occurred_at,
        department=row.department,
        purpose=row.purpose,
        fields=tuple(row.fields),
        details=row.details,
    )


@dataclass(frozen=True)
class DataUse:
    """One read of a citizen's personal data: who, which department, which fields, why."""

    occurred_at: datetime
    actor: str
    department: str | None
    application_id: str
    fields: tuple[str, ...]
    purpose: str | None
    action: str


async def data_use_for_subject(
    session: AsyncSession,
    application_ids: Sequence[str],
    limit: int = 500,
    reader_subject: str | None = None,
) -> list[DataUse]:
    """Every read of personal data in the given applications (the citizen's), newest first;
    the citizen's own reads (``reader_subject``: opening their own page) are left out. Reads
    not yet folded into their chains are included (one statement, ADR 0073)."""
    if not application_ids:
        return []

    def where(table: Audited) -> list[ColumnElement[bool]]:
        conditions = [
            table.subject_type == "application",
            table.subject_id.in_(list(application_ids)),
            table.action.in_(sorted(a.value for a in PERSONAL_DATA_READS)),
        ]
        if reader_subject is not None:  # actors are "<how signed in>:<subject>"
            conditions.append(~table.actor.endswith(f":{reader_subject}", autoescape=True))
        return conditions

    sub = trail(where, newest=limit)
    rows = await session.execute(select(sub).order_by(*newest_first(sub)).limit(limit))
    return [
        DataUse(
            occurred_at=row.occurred_at,
            actor=row.actor,
            department=row.department,
            application_id=row.subject_id,
            fields=tuple(row.fields),
            purpose=row.purpose,
            action=row.action,
        )
        for row in rows
        if row.fields
    ]
