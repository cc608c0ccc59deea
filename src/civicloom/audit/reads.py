"""Folding the personal-data reads recorded by requests into their hash chains (ADR 0073).

A request records a read with one small insert into ``audit_read_log`` (``record_read``). The
worker's ``audit-read-fold`` job moves rows into the chains in batches, each batch one
transaction that

1. claims the oldest rows nobody else is folding and deletes them (``DELETE … WHERE id IN
   (SELECT … ORDER BY id LIMIT n FOR UPDATE SKIP LOCKED) RETURNING …``: two folders never take
   the same row, and a row stays in the log until the transaction that folds it commits),
2. locks their chains and reads the heads in two statements (``lock_chains``: sorted order,
   the seal's shared lock, as the engine does), and
3. appends one entry per row in id order, each naming the row it came from (``read_id``,
   unique), written in one statement before commit.

A folder killed at any point leaves the transaction uncommitted: the rows are still in the log
and no entry was appended. On PostgreSQL a deferred trigger refuses to commit the deletion of a
row whose entry is not in ``audit_entries`` (migration 0037), so a row leaves the log only by
becoming a chain entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit.domain import chain_key
from civicloom.audit.services import lock_chains, queue_audit, record_of
from civicloom.audit.tables import AuditEntryRow, AuditReadRow
from civicloom.db import UnitOfWork
from civicloom.observability import get_logger

log = get_logger(__name__)

FOLD_BATCH = 500
"""Reads folded per transaction: a batch's locks and work stay small however long the log."""
FOLD_BATCHES_PER_RUN = 20
"""Batches one run of the job folds at most (the worker's other jobs wait for it meanwhile)."""
FOLD_SECONDS = 2.0
"""How often each worker runs the fold: a read reaches its chain within about this long."""

_LOG = cast(Table, AuditReadRow.__table__)


async def fold_pending_reads(session: AsyncSession, batch: int = FOLD_BATCH) -> int:
    """Fold at most ``batch`` of the oldest reads not being folded by another transaction
    into their chains, in the caller's transaction (which must commit for it to count);
    returns how many."""
    claim = (
        select(_LOG.c.id)
        .order_by(_LOG.c.id)
        .limit(batch)
        .with_for_update(skip_locked=True)  # no-op on SQLite: one writer
        .scalar_subquery()
    )
    taken = await session.execute(delete(_LOG).where(_LOG.c.id.in_(claim)).returning(*_LOG.c))
    rows = sorted((AuditReadRow(**row._mapping) for row in taken), key=lambda r: r.id)
    if not rows:
        return 0
    await lock_chains(session, {chain_key(r.subject_type, r.subject_id) for r in rows})
    for row in rows:
        await queue_audit(session, record_of(row), read_id=row.id)
    return len(rows)


async def fold_reads(
    uow: UnitOfWork, batch: int = FOLD_BATCH, batches: int = FOLD_BATCHES_PER_RUN
) -> int:
    """The worker's job: fold batch after batch (each its own transaction) until the log is
    empty or ``batches`` were folded; returns how many reads were folded."""
    total = 0
    for _ in range(batches):
        async with uow:
            folded = await fold_pending_reads(uow.session, batch)
            await uow.commit()
        total += folded
        if folded < batch:
            break
    if total:
        log.info("audit_reads_folded", reads=total)
    return total


async def pending_reads(session: AsyncSession) -> tuple[int, datetime | None]:
    """How many reads wait to be folded and when the oldest of them happened (None when none
    waits), in one statement: ``civicloom audit verify`` and the operator page warn when the
    fold has fallen behind (ADR 0081)."""
    # min() keeps the column's type: a UTC-aware datetime on both databases
    count, oldest = (
        await session.execute(select(func.count(), func.min(AuditReadRow.occurred_at)))
    ).one()
    return int(count or 0), oldest


async def folded_twice(session: AsyncSession) -> Sequence[tuple[int, int, str, int]]:
    """``(read id, entry seq, chain, position)`` of reads still in the log although their
    entry is in a chain (a fold that committed the entry but not the deletion; the trigger
    and the single transaction make it impossible, verification checks it anyway)."""
    rows = await session.execute(
        select(AuditReadRow.id, AuditEntryRow.seq, AuditEntryRow.chain, AuditEntryRow.position)
        .join(AuditEntryRow, AuditEntryRow.read_id == AuditReadRow.id)
        .order_by(AuditReadRow.id)
    )
    return [(int(a), int(b), str(c), int(d)) for a, b, c, d in rows]
