"""Append-only rows written with one multi-row INSERT per table per transaction.

A case change leaves a timeline entry, an outbox message and an audit entry; an engine
transaction records dozens of changes. Added as ORM objects, each row costs the unit of work
its construction, attribute events and flush bookkeeping, and an ``INSERT … ON CONFLICT``
issued through the session autoflushes everything pending (issue 23: a flush per decided
case). These rows are never updated in their transaction and nothing holds them as objects,
so they are queued here as plain values and written with one executemany per statement (one
round trip) when the session would have flushed ORM objects added instead:

- before the transaction commits (after the ORM's own flush, so a row may refer to one the
  ORM inserts in the same transaction), and
- before any ORM-enabled statement the session runs with autoflush on (a query of the
  timeline, the outbox or the audit chain in the same transaction sees the rows, as it saw
  pending objects; a statement run with ``autoflush=False`` does not, as before).

Rows keep the order they were queued in (per statement), so serial ids and sequence numbers
follow that order. A rolled-back transaction's rows are dropped with it: the queue belongs to
the transaction it was filled in (ADR 0067).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.sql.dml import Insert

_PENDING = "civicloom.pending_rows"

_Queue = dict[Insert, list[dict[str, Any]]]


def _queue(session: Session) -> _Queue | None:
    held = session.info.get(_PENDING)
    if held is None:
        return None
    transaction, queue = held
    if transaction is not session.get_transaction():  # rolled back (or committed) meanwhile
        del session.info[_PENDING]
        return None
    return queue  # type: ignore[no-any-return]


def add_pending(session: Session, statement: Insert, values: dict[str, Any]) -> None:
    """Queue one row for ``statement`` (an ``INSERT`` on one table, executed once for all the
    rows queued for it) in the session's current transaction."""
    queue = _queue(session)
    if queue is None:
        transaction: SessionTransaction = (
            session.get_transaction() or session._autobegin_t()  # what the next statement uses
        )
        queue = {}
        session.info[_PENDING] = (transaction, queue)
    queue.setdefault(statement, []).append(values)


def write_pending(session: Session) -> int:
    """Write every queued row now (the ORM's pending objects first); returns how many.

    Synchronous: SQLAlchemy's sync session under ``AsyncSession`` runs it in its greenlet
    (``await session.run_sync(write_pending)`` from async code)."""
    queue = _queue(session)
    if not queue:
        return 0
    session.flush()
    del session.info[_PENDING]  # before executing: a failure leaves nothing to write twice
    connection = session.connection()
    written = 0
    for statement, rows in queue.items():
        connection.execute(statement, rows)
        written += len(rows)
    return written


def pending_count(session: Session) -> int:
    """How many rows are queued and not yet written (tests and benchmarks)."""
    queue = _queue(session)
    return sum(len(rows) for rows in queue.values()) if queue else 0


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write_pending(session)


@event.listens_for(Session, "do_orm_execute")
def _before_orm_statement(state: ORMExecuteState) -> None:
    session = state.session
    if (
        _PENDING in session.info
        and state.is_orm_statement
        and session.autoflush
        and state.execution_options.get("autoflush", True)
    ):
        write_pending(session)
