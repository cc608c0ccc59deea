"""``timer``: wait for the step's duration, then carry on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.case import CaseContext
from civicloom.applications.deadlines import case_calendar
from civicloom.applications.steps.base import (
    Activation,
    ClaimedStep,
    WorkerKind,
    WorkerTools,
    due_after,
)
from civicloom.applications.tables import TaskRow
from civicloom.catalogue import Step, StepKind
from civicloom.departments import CallOutcome, CapabilityResult


class TimerStep(WorkerKind):
    """Ready when its duration has passed; the worker then completes it with no output."""

    kind = StepKind.TIMER

    def due(self, step: Step, now: datetime) -> datetime:
        """The end of the step's ``duration`` (working days Monday to Friday)."""
        return due_after(step.duration, now) or now

    async def activate(
        self, session: AsyncSession, case: CaseContext, task: TaskRow, step: Step, now: datetime
    ) -> Activation:
        """Queue the step for the end of its duration, working days counted in the
        blueprint's holiday calendar."""
        activation = await super().activate(session, case, task, step, now)
        calendar = case_calendar(session, case.blueprint)
        task.due_at = due_after(step.duration, now, calendar) or now
        return activation

    async def execute(self, claimed: ClaimedStep, tools: WorkerTools) -> CapabilityResult:
        """The wait is over."""
        return CapabilityResult(outcome=CallOutcome.COMPLETED, output={})
