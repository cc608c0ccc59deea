"""``notify``: send the applicant a message; the step is done once the message is queued."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.case import CaseContext, emit
from civicloom.applications.domain import TaskState
from civicloom.applications.steps.base import Activation, EngineKind
from civicloom.applications.tables import TaskRow
from civicloom.catalogue import Step, StepKind
from civicloom.outbox import EventType


class NotifyStep(EngineKind):
    """The notification leaves through the outbox (the notifications module delivers it)."""

    kind = StepKind.NOTIFY

    async def activate(
        self, session: AsyncSession, case: CaseContext, task: TaskRow, step: Step, now: datetime
    ) -> Activation:
        """Queue the message and finish the step."""
        await emit(
            session,
            case.app,
            now,
            EventType.NOTIFICATION_REQUESTED,
            {
                "template": step.template,
                "event": step.id,
                "recipient": case.app.applicant_id,
                "step": step.id,
            },
            key=f"notify:{task.id}",
        )
        task.state, task.completed_at = TaskState.COMPLETED.value, now
        return Activation.DONE
