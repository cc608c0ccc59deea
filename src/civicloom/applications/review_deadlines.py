"""The deadline of a review of a refusal (ADR 0059): the staff who may decide it are reminded
two working days before its answer is due, and the department's supervisors are told once it
is overdue. Run by the worker's periodic SLA sweep, incrementally and each at most once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from civicloom.applications.case import AuditNote, EventNote, load_cases, record_case_change
from civicloom.applications.reviews import REVIEWER_ROLE, ReviewState, review_staff_data
from civicloom.applications.sla import SWEEP_ACTOR
from civicloom.applications.tables import ApplicationRow, ReviewRow
from civicloom.audit import AuditAction
from civicloom.db import UnitOfWork
from civicloom.outbox import EventType

#: (event, audit action, outbox key prefix) of each message the sweep sends
ESCALATION = (EventType.REVIEW_ESCALATED, AuditAction.REVIEW_ESCALATED, "review.escalated")
REMINDER = (EventType.REVIEW_SLA_REMINDER, AuditAction.REVIEW_REMINDED, "review.reminder")


async def _record(
    session: AsyncSession,
    app: ApplicationRow,
    review: ReviewRow,
    now: datetime,
    kind: tuple[EventType, AuditAction, str],
    data: dict[str, object],
) -> None:
    """The staff message about one review and its audit entry, in the sweep's transaction."""
    event, action, prefix = kind
    await record_case_change(
        session,
        app,
        now,
        event=EventNote(event, data, key=f"{prefix}:{review.id}"),
        audit=AuditNote(
            SWEEP_ACTOR,
            action,
            review.department,
            {"review": review.id, "due": review.due_at.isoformat()},
        ),
    )


async def sweep_review_deadlines(
    uow: UnitOfWork, now: datetime, limit: int = 200
) -> tuple[int, int]:
    """Remind and escalate the reviews whose time came; returns (reminders, escalations).

    Each query selects only what is still to do (undecided, not yet escalated and overdue; not
    yet reminded and due for a reminder), soonest first, so a due one is always in the next
    batch; on PostgreSQL the rows are locked with SKIP LOCKED so two sweepers never take the
    same review, and the outbox keys make a repeated write a no-op besides."""
    async with uow:
        session = uow.session
        overdue = list(await session.scalars(_overdue_query(session, now, limit)))
        due_soon = list(await session.scalars(_reminder_query(session, now, limit)))
        cases = await load_cases(session, [r.application_id for r in [*overdue, *due_soon]])
        for review in overdue:
            review.escalated_at = now
            data = {**review_staff_data(review, None), "roles": [REVIEWER_ROLE]}
            await _record(session, cases[review.application_id].app, review, now, ESCALATION, data)
        for review in due_soon:
            review.reminded_at = now
            case = cases[review.application_id]
            data = review_staff_data(review, case.graph.steps[review.step_id].role)
            await _record(session, case.app, review, now, REMINDER, data)
        await uow.commit()
    return len(due_soon), len(overdue)


def _overdue_query(session: AsyncSession, now: datetime, limit: int) -> Select[ReviewRow]:
    """Undecided reviews whose answer is overdue and that were not escalated yet."""
    return _batch(
        session,
        (ReviewRow.escalated_at.is_(None), ReviewRow.due_at <= now),
        ReviewRow.due_at,
        limit,
    )


def _reminder_query(session: AsyncSession, now: datetime, limit: int) -> Select[ReviewRow]:
    """Undecided reviews due for their reminder, not yet reminded and not yet overdue."""
    return _batch(
        session,
        (
            ReviewRow.reminded_at.is_(None),
            ReviewRow.escalated_at.is_(None),
            ReviewRow.remind_at <= now,
            ReviewRow.due_at > now,
        ),
        ReviewRow.remind_at,
        limit,
    )


def _batch(
    session: AsyncSession,
    conditions: tuple[ColumnElement[bool], ...],
    soonest: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
    limit: int,
) -> Select[ReviewRow]:
    query = (
        select(ReviewRow)
        .where(ReviewRow.state == ReviewState.REQUESTED.value, *conditions)
        .order_by(soonest, ReviewRow.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return query
