"""SLA sweeps: remind before a step's due date, escalate to the supervisor role after it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from civicloom.applications.case import add_timeline, audit, emit
from civicloom.applications.domain import TaskState
from civicloom.applications.tables import ApplicationRow, TaskRow
from civicloom.audit import AuditAction
from civicloom.db import UnitOfWork
from civicloom.outbox import EventType

_WATCHED = (
    TaskState.AWAITING_OFFICER.value,
    TaskState.AWAITING_EXTERNAL.value,
    TaskState.READY.value,
    TaskState.RUNNING.value,
    TaskState.FAILED.value,
)
REMIND_AT_FRACTION = 0.75  # remind when three quarters of the step's time has passed


async def sweep_slas(uow: UnitOfWork, now: datetime, limit: int = 200) -> tuple[int, int]:
    """Send due reminders and escalations; returns (reminders, escalations)."""
    reminders = escalations = 0
    async with uow:
        session = uow.session
        query = (
            select(TaskRow, ApplicationRow)
            .join(ApplicationRow, ApplicationRow.id == TaskRow.application_id)
            .where(TaskRow.state.in_(_WATCHED), TaskRow.sla_due_at.is_not(None))
            .where(TaskRow.escalated.is_(False))
            .order_by(TaskRow.sla_due_at)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(of=TaskRow, skip_locked=True)
        for task, app in await session.execute(query):
            assert task.sla_due_at is not None
            start = task.activated_at or task.created_at
            remind_at = start + (task.sla_due_at - start) * REMIND_AT_FRACTION
            if now >= task.sla_due_at:
                task.escalated, task.updated_at = True, now
                task.role = "supervisor"
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
                        "role": "supervisor",
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
                    {"task": task.id},
                )
                escalations += 1
            elif now >= remind_at and task.reminded_at is None:
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
