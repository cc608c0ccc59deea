"""``officer_review``: a human task for a role of the step's department."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.case import CaseContext, add_timeline, emit
from civicloom.applications.domain import TaskState
from civicloom.applications.steps.base import Activation, EngineKind
from civicloom.applications.tables import TaskRow
from civicloom.catalogue import Step, StepKind
from civicloom.outbox import EventType


class OfficerReviewStep(EngineKind):
    """Waits for an officer's decision (back office); announced so officers are told."""

    kind = StepKind.OFFICER_REVIEW

    async def activate(
        self, session: AsyncSession, case: CaseContext, task: TaskRow, step: Step, now: datetime
    ) -> Activation:
        """Put the step in the department's queue."""
        task.state = TaskState.AWAITING_OFFICER.value
        add_timeline(
            session,
            case.app,
            now,
            "step.review",
            f"{step.department}: with an officer for review",
            task,
        )
        await emit(
            session,
            case.app,
            now,
            EventType.TASK_CREATED,
            {"task_id": task.id, "step": step.id, "department": step.department, "role": step.role},
            key=f"task.created:{task.id}",
        )
        return Activation.WAITS
