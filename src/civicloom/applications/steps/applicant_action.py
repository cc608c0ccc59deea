"""``applicant_action``: the applicant provides more information."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.case import CaseContext, add_timeline
from civicloom.applications.deadlines import stop_clock
from civicloom.applications.domain import ApplicationState, TaskState
from civicloom.applications.steps.base import Activation, EngineKind, title_of
from civicloom.applications.tables import TaskRow
from civicloom.catalogue import Step, StepKind


class ApplicantActionStep(EngineKind):
    """The application waits for its applicant (casework completes the step)."""

    kind = StepKind.APPLICANT_ACTION

    async def activate(
        self, session: AsyncSession, case: CaseContext, task: TaskRow, step: Step, now: datetime
    ) -> Activation:
        """Ask the applicant; the legal deadline stops running until they answer."""
        task.state = TaskState.AWAITING_APPLICANT.value
        case.app.state = ApplicationState.AWAITING_APPLICANT.value
        stop_clock(case, now)
        add_timeline(
            session,
            case.app,
            now,
            "applicant.action",
            title_of(step, "Your action is needed"),
            task,
        )
        return Activation.WAITS
