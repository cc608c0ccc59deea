"""SLA sweeps: remind before a step's due date; after it, escalate a person's overdue step to
the department's supervisors (the step keeps its role: its officers still see and work it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, bindparam, false, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from civicloom.applications.case import add_timeline, audit, emit
from civicloom.applications.tables import (
    SLA_ESCALATED_STATES,
    SLA_WATCHED_STATES,
    ApplicationRow,
    TaskRow,
)
from civicloom.audit import AuditAction
from civicloom.db import UnitOfWork
from civicloom.outbox import EventType

_WATCHED = SLA_WATCHED_STATES
# Only a person's step escalates: a supervisor can act on an officer's task; an automated
# step that is late is the operators' business (dead letters, the department's health).
_ESCALATED = SLA_ESCALATED_STATES
ESCALATE_TO = "supervisor"
REMIND_AT_FRACTION = 0.75  # remind when three quarters of the step's time has passed


def remind_at(start: datetime, sla_due_at: datetime | None) -> datetime | None:
    """When a step activated at ``start`` and due at ``sla_due_at`` is reminded."""
    if sla_due_at is None:
        return None
    return start + (sla_due_at - start) * REMIND_AT_FRACTION


async def sweep_slas(uow: UnitOfWork, now: datetime, limit: int = 200) -> tuple[int, int]:
    """Send due reminders and escalations; returns (reminders, escalations).

    Each query selects only what is still to do (not yet escalated and overdue; not yet
    reminded and due for a reminder), soonest first, so however many tasks were already
    reminded or escalated, a due one is in the next batch: nothing starves.
    """
    async with uow:
        session = uow.session
        escalations = 0
        for task, app in list(await session.execute(overdue_query(session, now, limit))):
            await _escalate(uow, task, app, now)
            escalations += 1
        reminders = 0
        for task, app in list(await session.execute(reminder_query(session, now, limit))):
            assert task.sla_due_at is not None
            task.reminded_at = now
            await emit(
                session,
                app,
                now,
                EventType.TASK_SLA_REMINDER,
                {
                    "task_id": task.id,
                    "step": task.step_id,
                    "department": task.department,
                    "due_at": task.sla_due_at.isoformat(),
                },
                key=f"reminder:{task.id}",
            )
            reminders += 1
        await uow.commit()
    return reminders, escalations


def overdue_query(
    session: AsyncSession, now: datetime, limit: int
) -> Select[TaskRow, ApplicationRow]:
    """Overdue people's steps not yet escalated, soonest first (``ix_application_tasks_sla_
    overdue`` holds exactly these: finished tasks, however many, are never read)."""
    return _batch(
        session,
        (_open(_ESCALATED), TaskRow.escalated == false(), TaskRow.sla_due_at <= now),
        TaskRow.sla_due_at,
        limit,
    )


def reminder_query(
    session: AsyncSession, now: datetime, limit: int
) -> Select[TaskRow, ApplicationRow]:
    """Open steps due for a reminder, soonest first (``ix_application_tasks_sla_remind``)."""
    return _batch(
        session,
        (
            _open(_WATCHED),
            TaskRow.reminded_at.is_(None),
            TaskRow.escalated == false(),
            TaskRow.remind_at <= now,
            TaskRow.sla_due_at > now,
        ),
        TaskRow.remind_at,
        limit,
    )


def _open(states: tuple[str, ...]) -> ColumnElement[bool]:
    """``state IN (…)`` with the values written into the SQL, so PostgreSQL can match it with
    the partial indexes' predicates (a bound parameter cannot prove them in a generic plan)."""
    return TaskRow.state.in_(
        bindparam("states", list(states), expanding=True, literal_execute=True)
    )


def _batch(
    session: AsyncSession,
    conditions: tuple[ColumnElement[bool], ...],
    soonest: InstrumentedAttribute[datetime | None],
    limit: int,
) -> Select[TaskRow, ApplicationRow]:
    """Open tasks (with their applications) meeting ``conditions``, ``soonest`` first; on
    PostgreSQL locked so two sweeping workers never take the same task."""
    query = (
        select(TaskRow, ApplicationRow)
        .join(ApplicationRow, ApplicationRow.id == TaskRow.application_id)
        .where(*conditions)
        .order_by(soonest, TaskRow.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=TaskRow, skip_locked=True)
    return query


async def _escalate(uow: UnitOfWork, task: TaskRow, app: ApplicationRow, now: datetime) -> None:
    session = uow.session
    task.escalated, task.escalated_to, task.updated_at = True, ESCALATE_TO, now
    add_timeline(
        session,
        app,
        now,
        "sla.escalated",
        f"{task.department}: {task.step_id} is overdue; escalated to a supervisor",
        task,
        visible=False,
    )
    await emit(
        session,
        app,
        now,
        EventType.TASK_ESCALATED,
        {
            "task_id": task.id,
            "step": task.step_id,
            "department": task.department,
            "role": task.role,
            "escalated_to": ESCALATE_TO,
        },
        key=f"escalated:{task.id}",
    )
    await audit(
        session,
        "system:sla",
        AuditAction.TASK_ESCALATED,
        app,
        now,
        task.department,
        {"task": task.id, "role": task.role, "escalated_to": ESCALATE_TO},
    )
