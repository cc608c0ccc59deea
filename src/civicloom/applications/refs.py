"""Reads other modules need about an application or a task, as plain values.

Payments, documents and the back office read what they need here and record their changes
with ``record_case_change``; they never touch the engine's tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.domain import TaskState
from civicloom.applications.tables import ApplicationRow, TaskRow


@dataclass(frozen=True)
class ApplicationRef:
    """An application as another module sees it."""

    id: str
    reference: str
    applicant_id: str
    blueprint_version_id: str
    state: str
    data: dict[str, Any]
    decisions: dict[str, Any]
    deadline_at: datetime | None


@dataclass(frozen=True)
class TaskRef:
    """A task (step instance) as another module sees it."""

    id: str
    application_id: str
    step_id: str
    kind: str
    department: str | None
    state: str
    idempotency_key: str
    input: dict[str, Any]


def _application(row: ApplicationRow) -> ApplicationRef:
    return ApplicationRef(
        id=row.id,
        reference=row.reference,
        applicant_id=row.applicant_id,
        blueprint_version_id=row.blueprint_version_id,
        state=row.state,
        data=dict(row.data or {}),
        decisions=dict(row.decisions or {}),
        deadline_at=row.deadline_at,
    )


def _task(row: TaskRow) -> TaskRef:
    return TaskRef(
        id=row.id,
        application_id=row.application_id,
        step_id=row.step_id,
        kind=row.kind,
        department=row.department,
        state=row.state,
        idempotency_key=row.idempotency_key,
        input=dict(row.input or {}),
    )


async def find_application(session: AsyncSession, application_id: str) -> ApplicationRef | None:
    """One application, or None."""
    row = await session.get(ApplicationRow, application_id)
    return None if row is None else _application(row)


async def find_task(session: AsyncSession, task_id: str) -> TaskRef | None:
    """One task, or None."""
    row = await session.get(TaskRow, task_id)
    return None if row is None else _task(row)


async def find_waiting_task(
    session: AsyncSession, application_id: str, kind: str
) -> TaskRef | None:
    """The application's step of this kind that waits for an answer from outside, if any."""
    row = await session.scalar(
        select(TaskRow).where(
            TaskRow.application_id == application_id,
            TaskRow.kind == kind,
            TaskRow.state == TaskState.AWAITING_EXTERNAL.value,
        )
    )
    return None if row is None else _task(row)
