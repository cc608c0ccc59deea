"""Writing to the outbox inside a transaction, and claiming due messages for dispatch."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.db.pending import add_pending
from civicloom.outbox.domain import CloudEvent, OutboxBacklog, OutboxMessage
from civicloom.outbox.tables import OutboxRow

MAX_ATTEMPTS = 12


_OUTBOX = cast(Table, OutboxRow.__table__)
_ENQUEUE = {
    "postgresql": postgresql_insert(_OUTBOX).on_conflict_do_nothing(index_elements=["key"]),
    "sqlite": sqlite_insert(_OUTBOX).on_conflict_do_nothing(index_elements=["key"]),
}


async def enqueue_event(session: AsyncSession, event: CloudEvent, key: str) -> None:
    """Add an event to the caller's transaction; ``key`` makes a repeated enqueue a no-op.

    ``INSERT … ON CONFLICT (key) DO NOTHING``: no read first, and no failed transaction when
    the key is already there. The row is queued (``civicloom.db.pending``) and inserted with
    the transaction's other events in one statement before commit, or before an ORM query in
    the same transaction (issue 23, ADR 0067).
    """
    add_pending(
        session.sync_session,
        _ENQUEUE[session.get_bind().dialect.name],
        {
            "topic": event.type.value,
            "key": key,
            "payload": event.to_dict(),
            "created_at": event.time,
            "available_at": event.time,
            "attempts": 0,
        },
    )


async def claim_due(
    session: AsyncSession, worker_id: str, now: datetime, limit: int, lease: timedelta
) -> list[OutboxMessage]:
    """Lease up to ``limit`` due messages to this worker (SKIP LOCKED on PostgreSQL).

    A lease that expired (its worker died) makes the message due again. Each claim increments
    ``attempts``, the fencing token of the lease round (ADR 0045): only the relay holding the
    current round may renew the lease, mark the message sent, failed or postponed.
    """
    due = (
        select(OutboxRow)
        .where(
            OutboxRow.dispatched_at.is_(None),
            OutboxRow.dead_at.is_(None),
            OutboxRow.available_at <= now,
            or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now),
        )
        .order_by(OutboxRow.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    rows = list(await session.scalars(due))
    for row in rows:
        row.claimed_by = worker_id
        row.claimed_until = now + lease
        row.attempts += 1
    await session.flush()
    return [
        OutboxMessage(
            id=row.id,
            topic=row.topic,
            key=row.key,
            payload=row.payload,
            attempts=row.attempts,
            created_at=row.created_at,
            lease_until=row.claimed_until,
        )
        for row in rows
    ]


def _held(message: OutboxMessage, worker_id: str) -> tuple[Any, ...]:
    """Still this relay's: claimed by it, in the round it claimed, not finished meanwhile."""
    return (
        OutboxRow.id == message.id,
        OutboxRow.claimed_by == worker_id,
        OutboxRow.attempts == message.attempts,
        OutboxRow.dispatched_at.is_(None),
        OutboxRow.dead_at.is_(None),
    )


async def renew_lease(
    session: AsyncSession, message: OutboxMessage, worker_id: str, now: datetime, lease: timedelta
) -> bool:
    """Extend this relay's lease on a claimed message; False when the lease was lost (another
    relay claimed the message after this lease ran out, or it was finished meanwhile)."""
    result = await session.execute(
        update(OutboxRow).where(*_held(message, worker_id)).values(claimed_until=now + lease)
    )
    return _count(result) == 1


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def mark_dispatched(
    session: AsyncSession, message: OutboxMessage, worker_id: str, now: datetime
) -> bool:
    """Record a successful delivery, only by the relay holding the message's current lease
    round; False when the lease was lost (the round's new owner records its own outcome)."""
    result = await session.execute(
        update(OutboxRow)
        .where(*_held(message, worker_id))
        .values(dispatched_at=now, claimed_until=None, last_error=None)
    )
    return _count(result) == 1


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off with full jitter, capped at ten minutes."""
    ceiling = min(600.0, 0.5 * 2 ** min(attempts, 20))
    return timedelta(seconds=random.uniform(0.1, ceiling))


async def mark_failed(
    session: AsyncSession, message: OutboxMessage, worker_id: str, now: datetime, error: str
) -> bool:
    """Schedule a retry, or dead-letter after too many attempts; returns True if dead
    (nothing changes when this relay's lease round is over)."""
    dead = message.attempts >= MAX_ATTEMPTS
    await session.execute(
        update(OutboxRow)
        .where(*_held(message, worker_id))
        .values(
            claimed_until=None,
            available_at=now + retry_delay(message.attempts),
            last_error=error[:2000],
            dead_at=now if dead else None,
        )
    )
    return dead


async def oldest_pending_age(session: AsyncSession, now: datetime) -> float:
    """Seconds since the oldest undispatched, live message was written (0 if none)."""
    oldest = await session.scalar(
        select(func.min(OutboxRow.created_at)).where(
            OutboxRow.dispatched_at.is_(None), OutboxRow.dead_at.is_(None)
        )
    )
    return OutboxBacklog(0, 0, _aware(oldest)).lag_seconds(now)


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):  # func.min bypasses the column type on SQLite
        value = datetime.fromisoformat(str(value))
    aware: datetime = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware


_PENDING = (OutboxRow.dispatched_at.is_(None), OutboxRow.dead_at.is_(None))


async def outbox_backlog(session: AsyncSession) -> OutboxBacklog:
    """Pending and dead messages, and when the oldest pending one was written (two statements)."""
    pending, oldest = (
        await session.execute(select(func.count(), func.min(OutboxRow.created_at)).where(*_PENDING))
    ).one()
    dead = await session.scalar(
        select(func.count()).select_from(OutboxRow).where(OutboxRow.dead_at.is_not(None))
    )
    return OutboxBacklog(int(pending or 0), int(dead or 0), _aware(oldest))


def pending_backlog(conn: Connection) -> OutboxBacklog:
    """Pending messages and the oldest one's time, on a synchronous connection (for the
    Prometheus collector; ``dead`` is not counted there)."""
    pending, oldest = conn.execute(
        select(func.count(), func.min(OutboxRow.created_at)).where(*_PENDING)
    ).one()
    return OutboxBacklog(int(pending or 0), 0, _aware(oldest))


async def postpone(
    session: AsyncSession, message: OutboxMessage, worker_id: str, until: datetime
) -> None:
    """Give a claimed message back until ``until`` without counting the attempt (a subscriber
    asked to wait: a rate limit, not a failure); only in this relay's lease round."""
    await session.execute(
        update(OutboxRow)
        .where(*_held(message, worker_id))
        .values(claimed_until=None, available_at=until, attempts=OutboxRow.attempts - 1)
    )


async def purge_sent(session: AsyncSession, before: datetime, batch: int = 5000) -> int:
    """Delete one batch of messages dispatched before ``before`` (over ``ix_outbox_due``; dead
    messages stay for the operator); how many were deleted (fewer than ``batch``: done)."""
    ids = list(
        await session.scalars(
            select(OutboxRow.id)
            .where(OutboxRow.dispatched_at.is_not(None), OutboxRow.dispatched_at < before)
            .limit(batch)
        )
    )
    if ids:
        await session.execute(delete(OutboxRow).where(OutboxRow.id.in_(ids)))
    return len(ids)
