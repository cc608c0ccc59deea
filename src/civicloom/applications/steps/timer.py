"""``timer``: wait for the step's duration, then carry on."""

from __future__ import annotations

from datetime import datetime

from civicloom.applications.steps.base import ClaimedStep, WorkerKind, WorkerTools, due_after
from civicloom.catalogue import Step, StepKind
from civicloom.departments import CallOutcome, CapabilityResult


class TimerStep(WorkerKind):
    """Ready when its duration has passed; the worker then completes it with no output."""

    kind = StepKind.TIMER

    def due(self, step: Step, now: datetime) -> datetime:
        """The end of the step's ``duration``."""
        return due_after(step.duration, now) or now

    async def execute(self, claimed: ClaimedStep, tools: WorkerTools) -> CapabilityResult:
        """The wait is over."""
        return CapabilityResult(outcome=CallOutcome.COMPLETED, output={})
