"""SLA sweeps: remind before a step's due date; after it, escalate a person's overdue step to
the department's supervisors (the step keeps its role: its officers still see and work it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, bindparam, false, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from civicloom.applications.case import (
    AuditNote,
    EventNote,
    TimelineNote,
    add_timeline,
    audit,
    emit,
    load_cases,
    record_case_change,
)
from civicloom.applications.domain import ApplicationState
from civicloom.applications.engine import finish_case
from civicloom.applications.tables import (
    SLA_ESCALATED_STATES,
    SLA_WATCHED_STATES,
    ApplicationRow,
    TaskRow,
    TimelineRow,
)
from civicloom.audit import AuditAction
from civicloom.catalogue import DeadlineAction
from civicloom.db import UnitOfWork
from civicloom.outbox import EventType

_WATCHED = SLA_WATCHED_STATES
# Only a person's step escalates: a supervisor can act on an officer's task; an automated
# step that is late is the operators' business (dead letters, the department's health).
_ESCALATED = SLA_ESCALATED_STATES
ESCALATE_TO = "supervisor"
SWEEP_ACTOR = "system:sla"


async def sweep_slas(uow: UnitOfWork, now: datetime, limit: int = 200) -> tuple[int, int]:
    """Send due reminders and escalations, and act on the legal deadlines that passed
    undecided (ADR 0053); returns (reminders, escalations).

    Each query selects only what is still to do (not yet escalated and overdue; not yet
    reminded and due for a reminder; deadlines passed and not yet acted on), soonest first, so
    however many were already handled, a due one is in the next batch: nothing starves.
    """
    async with uow:
        session = uow.session
        escalations = 0
        for task, app in list(await session.execute(overdue_query(session, now, limit))):
            await _escalate(uow, task, app, now)
            escalations += 1
        escalations += await pass_deadlines(uow, now, limit)
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
        SWEEP_ACTOR,
        AuditAction.TASK_ESCALATED,
        app,
        now,
        task.department,
        {"task": task.id, "role": task.role, "escalated_to": ESCALATE_TO},
    )


DEADLINE_PASSED = "application.deadline_passed"
"""The timeline event that records that the case's legal deadline passed undecided (and that
the blueprint's action was taken: the sweep never takes it twice)."""
_UNDECIDED = (ApplicationState.SUBMITTED.value, ApplicationState.IN_PROGRESS.value)


def deadline_query(session: AsyncSession, now: datetime, limit: int) -> Select[str]:
    """Undecided applications whose legal deadline passed while the clock ran (a stopped
    clock means the deadline does not run) and that were not acted on yet, soonest first."""
    acted = (
        select(TimelineRow.id)
        .where(TimelineRow.application_id == ApplicationRow.id)
        .where(TimelineRow.event == DEADLINE_PASSED)
        .exists()
    )
    query = (
        select(ApplicationRow.id)
        .where(
            ApplicationRow.state.in_(
                bindparam("undecided", list(_UNDECIDED), expanding=True, literal_execute=True)
            ),
            ApplicationRow.deadline_at <= now,
            ApplicationRow.clock_stopped_at.is_(None),
            ~acted,
        )
        .order_by(ApplicationRow.deadline_at, ApplicationRow.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return query


async def pass_deadlines(uow: UnitOfWork, now: datetime, limit: int) -> int:
    """Take the blueprint's action on each application whose legal deadline passed undecided
    (ADR 0053), in the caller's transaction; returns how many steps were escalated."""
    session = uow.session
    ids = list(await session.scalars(deadline_query(session, now, limit)))
    if not ids:
        return 0
    escalations = 0
    cases = await load_cases(session, ids, lock=True)
    for case in cases.values():
        app = case.app
        declared = case.blueprint.deadline_passed
        action = declared.action if declared else DeadlineAction.MARK_OVERDUE
        deadline = app.deadline_at.date().isoformat() if app.deadline_at else ""
        await record_case_change(
            session,
            app,
            now,
            timeline=TimelineNote(
                DEADLINE_PASSED, f"The legal deadline ({deadline}) passed without a decision"
            ),
            event=EventNote(
                EventType.APPLICATION_DEADLINE_PASSED,
                {
                    "deadline_at": app.deadline_at.isoformat() if app.deadline_at else None,
                    "action": action.value,
                },
                key=f"deadline_passed:{app.id}",
            ),
            audit=AuditNote(
                SWEEP_ACTOR,
                AuditAction.APPLICATION_DEADLINE_PASSED,
                details={"deadline": deadline, "action": action.value},
            ),
        )
        if action is DeadlineAction.ESCALATE:
            for task in sorted(case.tasks.values(), key=lambda t: t.step_id):
                if task.state in _ESCALATED and not task.escalated:
                    await _escalate(uow, task, app, now)
                    escalations += 1
        elif action is DeadlineAction.DEEMED_APPROVAL:
            assert declared is not None  # (and its reason: the blueprint's validator)
            await finish_case(
                session,
                case,
                ApplicationState.APPROVED,
                f"deemed approved: no decision within the legal deadline ({declared.reason or ''})",
                now,
                actor=SWEEP_ACTOR,
            )
    return escalations
