"""What a step kind is to the case engine: the ``StepKindHandler`` protocol.

A handler says what happens when a step of its kind is activated (inside the case's
transaction) and, for kinds the worker runs, how the worker executes it (outside any
transaction, ADR 0002/§14). Every kind is one module of this package; the registry
(``registry.py``) maps ``StepKind`` to its handler (ADR 0030).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.case import CaseContext, wake_workers
from civicloom.applications.domain import TaskState
from civicloom.applications.tables import TaskRow
from civicloom.catalogue import WEEKDAYS_ONLY, HolidayCalendar, RetryPolicy, Sla, Step
from civicloom.departments import CapabilityGateway, CapabilityResult, PermanentError


class Activation(Enum):
    """What an activated step does next."""

    WAITS = "waits"  # for the worker, a person, a provider or a department
    DONE = "done"  # finished on activation: the engine moves on at once


@dataclass(frozen=True)
class ClaimedStep:
    """A leased step with everything needed to run it outside a transaction."""

    task_id: str
    application_id: str
    step_id: str
    kind: str
    department: str | None
    capability: str | None
    input: dict[str, Any]
    idempotency_key: str
    attempts: int
    retry: RetryPolicy
    traceparent: str | None = None


# How the worker runs one claimed step of a kind (e.g. the documents module's licence issuer).
StepExecutor = Callable[[ClaimedStep], Awaitable[CapabilityResult]]
StepHandler = StepExecutor  # the name other modules import (documents.licence_step_handler)


@dataclass(frozen=True)
class WorkerTools:
    """What a worker lends an executing step: the department gateway and callback URLs."""

    gateway: CapabilityGateway | None = None
    callback_url: Callable[[str], str] | None = None


class StepKindHandler(Protocol):
    """One step kind: its activation in the case's transaction and its execution by a worker."""

    @property
    def kind(self) -> str:
        """The ``kind`` a blueprint step names (a ``StepKind`` for the built-in kinds)."""
        ...

    @property
    def automated(self) -> bool:
        """Whether the worker executes steps of this kind (else a person or an answer does)."""
        ...

    async def activate(
        self, session: AsyncSession, case: CaseContext, task: TaskRow, step: Step, now: datetime
    ) -> Activation:
        """The step's predecessors are done and its ``when`` holds; its input is resolved."""
        ...

    async def execute(self, claimed: ClaimedStep, tools: WorkerTools) -> CapabilityResult:
        """Run a claimed step (automated kinds only); raise the departments' errors to retry."""
        ...


def due_after(
    sla: Sla | None, now: datetime, calendar: HolidayCalendar = WEEKDAYS_ONLY
) -> datetime | None:
    """When a duration (an SLA or a timer's wait) from ``now`` ends, working days counted in
    the blueprint's ``calendar``; None without one."""
    if sla is None:
        return None
    if sla.seconds is not None:
        return now + timedelta(seconds=sla.seconds)
    if sla.working_days is not None:
        return calendar.add_working_days(now, sla.working_days)
    return None


class WorkerKind:
    """Base of the kinds a worker runs: activation queues the step for the next free worker."""

    kind: str = ""
    automated = True

    def due(self, step: Step, now: datetime) -> datetime:
        """When the worker may run the step (now, unless the kind waits)."""
        return now

    async def activate(
        self, session: AsyncSession, case: CaseContext, task: TaskRow, step: Step, now: datetime
    ) -> Activation:
        """Queue the step: ready now (or when due) and wake the workers on commit."""
        task.state = TaskState.READY.value
        task.due_at = self.due(step, now)
        await wake_workers(session)
        return Activation.WAITS

    async def execute(self, claimed: ClaimedStep, tools: WorkerTools) -> CapabilityResult:
        """Subclasses run the step."""
        raise PermanentError(f"no handler is configured for {claimed.kind!r} steps")


class EngineKind:
    """Base of the kinds no worker runs: a person, a provider or the engine itself ends them."""

    kind: str = ""
    automated = False

    async def activate(
        self, session: AsyncSession, case: CaseContext, task: TaskRow, step: Step, now: datetime
    ) -> Activation:
        """Subclasses set the step waiting (or finish it)."""
        raise NotImplementedError

    async def execute(self, claimed: ClaimedStep, tools: WorkerTools) -> CapabilityResult:
        """Never called: the worker only claims steps a worker kind made ready."""
        raise PermanentError(f"{claimed.kind!r} steps are not run by a worker")


def title_of(step: Step, fallback: str) -> str:
    """The step's English title (timelines are written in the platform's language)."""
    return step.title.en if step.title else fallback
