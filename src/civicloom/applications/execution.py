"""The worker side of the case engine: lease due steps, run them, record the result."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.case import (
    CaseContext,
    add_timeline,
    load_cases,
)
from civicloom.applications.completion import complete_step, dead_letter
from civicloom.applications.domain import TaskState
from civicloom.applications.steps import (
    ClaimedStep,
    StepExecutor,
    StepKinds,
    UnknownStepKind,
    WorkerTools,
    step_kinds,
    use_step_kinds,
)
from civicloom.applications.tables import TaskRow
from civicloom.catalogue import RetryPolicy
from civicloom.departments import (
    CallOutcome,
    CapabilityGateway,
    CapabilityResult,
    DepartmentUnavailable,
    PermanentError,
    TransientError,
)
from civicloom.observability import get_logger, get_tracer
from civicloom.rules import ModelError
from civicloom.runtime import Container

log = get_logger(__name__)
_TRACER = get_tracer("civicloom.engine")
_PROPAGATOR = TraceContextTextMapPropagator()


@dataclass(frozen=True)
class Failure:
    """A step that did not succeed this time."""

    error: str
    permanent: bool
    counts: bool = True  # False when the department's breaker was open: not an attempt


Outcome = CapabilityResult | Failure


async def claim_steps(
    session: AsyncSession, worker_id: str, now: datetime, limit: int, lease: timedelta
) -> list[TaskRow]:
    """Lease due steps (and steps whose worker died) to this worker."""
    query = (
        select(TaskRow)
        .where(
            or_(
                and_(TaskRow.state == TaskState.READY.value, TaskRow.due_at <= now),
                and_(TaskRow.state == TaskState.RUNNING.value, TaskRow.lease_until < now),
            )
        )
        .order_by(TaskRow.due_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(await session.scalars(query))
    for row in rows:
        row.state, row.lease_owner, row.lease_until = (
            TaskState.RUNNING.value,
            worker_id,
            now + lease,
        )
        row.attempts += 1
        row.started_at = row.started_at or now
        row.updated_at = now
    await session.flush()
    return rows


def backoff(policy: RetryPolicy, attempts: int) -> timedelta:
    """Exponential back-off with full jitter."""
    ceiling = min(policy.max_seconds, policy.initial_seconds * 2 ** max(0, attempts - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


class StepRunner:
    """Runs leased steps: capabilities through the gateway, other kinds through handlers."""

    def __init__(
        self,
        container: Container,
        gateway: CapabilityGateway | None,
        handlers: Mapping[str, StepExecutor] | None = None,
        callback_url: Callable[[str], str] | None = None,
        kinds: StepKinds | None = None,
    ) -> None:
        """``kinds`` is the step-kind registry (the platform's by default); ``handlers`` plugs
        executors provided by other modules into it (the documents module's licence issuer)."""
        self.container = container
        self.gateway = gateway
        self.kinds = (kinds or step_kinds()).with_executors(handlers or {})
        self.callback_url = callback_url

    @property
    def tools(self) -> WorkerTools:
        """What executing steps may use (read each time: tests swap the gateway)."""
        return WorkerTools(self.gateway, self.callback_url)

    async def run_once(self, worker_id: str) -> int:
        """Claim one batch, run it, record results; returns how many steps were handled."""
        settings, clock = self.container.settings, self.container.clock
        async with self.container.uow() as uow:
            rows = await claim_steps(
                uow.session,
                worker_id,
                clock.now(),
                settings.worker_batch_size,
                timedelta(seconds=settings.worker_lease_seconds),
            )
            claimed = [self._claimed(uow.session, r) for r in rows]
            await uow.commit()
        if not claimed:
            return 0
        if self.container.database.is_postgresql:
            outcomes = await asyncio.gather(*(self._outcome(c) for c in claimed))
        else:  # SQLite: the calls still run, one after another, beside the single writer
            outcomes = [await self._outcome(c) for c in claimed]
        try:
            await self._record(worker_id, list(zip(claimed, outcomes, strict=True)))
        except Exception:
            # One bad outcome must not hold the others hostage: record them one by one.
            log.exception("batch_record_failed", size=len(claimed))
            for pair in zip(claimed, outcomes, strict=True):
                with contextlib.suppress(Exception):
                    await self._record(worker_id, [pair])
        return len(claimed)

    def _claimed(self, session: AsyncSession, row: TaskRow) -> ClaimedStep:
        return ClaimedStep(
            task_id=row.id,
            application_id=row.application_id,
            step_id=row.step_id,
            kind=row.kind,
            department=row.department,
            capability=row.capability,
            input=row.input or {},
            idempotency_key=row.idempotency_key,
            attempts=row.attempts,
            retry=_retry_of(row),
            traceparent=row.traceparent,
        )

    async def _execute(self, step: ClaimedStep) -> CapabilityResult:
        try:
            handler = self.kinds[step.kind]
        except UnknownStepKind as exc:
            raise PermanentError(str(exc)) from None
        if not handler.automated:
            raise PermanentError(f"no handler is configured for {step.kind!r} steps")
        return await handler.execute(step, self.tools)

    async def _outcome(self, step: ClaimedStep) -> Outcome:
        """Run a step in its case's trace, with its ids bound to the logs; never raises."""
        parent = _PROPAGATOR.extract({"traceparent": step.traceparent} if step.traceparent else {})
        with (
            structlog.contextvars.bound_contextvars(
                application_id=step.application_id,
                task_id=step.task_id,
                step=step.step_id,
                department=step.department,
            ),
            _TRACER.start_as_current_span(
                f"step {step.step_id}",
                context=parent,
                kind=trace.SpanKind.CLIENT,
                attributes={
                    "civicloom.application_id": step.application_id,
                    "civicloom.department": step.department or "",
                    "civicloom.capability": step.capability or "",
                    "civicloom.attempt": step.attempts,
                },
            ) as span,
        ):
            outcome = await self._attempt(step)
            if isinstance(outcome, Failure):
                span.set_status(trace.StatusCode.ERROR, outcome.error[:200])
            return outcome

    async def _attempt(self, step: ClaimedStep) -> Outcome:
        try:
            return await self._execute(step)
        except DepartmentUnavailable as exc:
            return Failure(str(exc), permanent=False, counts=False)
        except TransientError as exc:
            return Failure(str(exc), permanent=False)
        except PermanentError as exc:
            return Failure(str(exc), permanent=True)
        except Exception as exc:  # a bug or an unexpected library error: never lose the step
            log.exception("step_crashed", task_id=step.task_id, step=step.step_id)
            return Failure(f"{type(exc).__name__}: {exc}", permanent=False)

    async def _record(self, worker_id: str, batch: list[tuple[ClaimedStep, Outcome]]) -> None:
        """Record a batch of outcomes in one transaction (applications locked in id order)."""
        now = self.container.clock.now()
        with use_step_kinds(self.kinds):  # successors activate with this runner's registry
            await self._record_batch(worker_id, batch, now)

    async def _record_batch(
        self, worker_id: str, batch: list[tuple[ClaimedStep, Outcome]], now: datetime
    ) -> None:
        async with self.container.uow() as uow:
            cases = await load_cases(
                uow.session, [step.application_id for step, _ in batch], lock=True
            )
            for step, outcome in batch:
                case = cases[step.application_id]
                task = case.tasks[step.step_id]
                if task.state != TaskState.RUNNING.value or task.lease_owner != worker_id:
                    continue  # lease lost, or a callback completed it already: nothing to do
                task.lease_owner, task.lease_until, task.updated_at = None, None, now
                if isinstance(outcome, Failure):
                    await self._record_failure(uow.session, case, task, step, outcome, now)
                elif outcome.outcome is CallOutcome.ACCEPTED:
                    task.last_error = None
                    task.state = TaskState.AWAITING_EXTERNAL.value
                    task.output = {
                        "external_reference": outcome.external_reference,
                        **outcome.output,
                    }
                    add_timeline(
                        uow.session,
                        case.app,
                        now,
                        "step.waiting",
                        f"{task.department}: request received, waiting for their answer",
                        task,
                    )
                else:
                    task.last_error = None
                    try:
                        await complete_step(uow.session, case, task, outcome.output, now)
                    except ModelError as exc:
                        failure = Failure(f"decision model failed: {exc}", permanent=True)
                        await self._record_failure(uow.session, case, task, step, failure, now)
            await uow.commit()

    async def _record_failure(
        self,
        session: AsyncSession,
        case: CaseContext,
        task: TaskRow,
        step: ClaimedStep,
        failure: Failure,
        now: datetime,
    ) -> None:
        task.last_error = failure.error[:2000]
        if not failure.counts:
            task.attempts = max(0, task.attempts - 1)
        if failure.permanent or task.attempts >= step.retry.max_attempts:
            await dead_letter(session, case, task, failure.error, now)
        else:
            task.state = TaskState.READY.value
            task.due_at = now + backoff(step.retry, task.attempts)
        log.warning(
            "step_failed",
            task_id=step.task_id,
            step=step.step_id,
            department=step.department,
            permanent=failure.permanent,
            attempts=task.attempts,
        )


def _retry_of(row: TaskRow) -> RetryPolicy:
    policy = row.retry_policy or {}
    return RetryPolicy(
        max_attempts=int(policy.get("max_attempts", 8)),
        initial_seconds=float(policy.get("initial_seconds", 1.0)),
        max_seconds=float(policy.get("max_seconds", 300.0)),
    )
