"""The worker side of the case engine: lease due steps, run them, record the result."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

import structlog
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.case import (
    CaseContext,
    add_timeline,
    load_case,
    load_cases,
)
from civicloom.applications.completion import complete_external_step, complete_step, dead_letter
from civicloom.applications.domain import TaskState
from civicloom.applications.graph import ConditionFailed
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
from civicloom.audit import chain_key, lock_chains
from civicloom.catalogue import RetryPolicy
from civicloom.catalogue.spec import DEFAULT_ANSWER_WITHIN_SECONDS
from civicloom.departments import (
    AnswerPoller,
    CallOutcome,
    CapabilityGateway,
    CapabilityResult,
    ConnectorError,
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
    expression: str | None = None  # the condition that could not be evaluated, if that was it


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


def answer_within(case: CaseContext, step_id: str) -> timedelta:
    """How long the step waits for its department's late answer (the blueprint's, or 48 h)."""
    wait = case.graph.steps[step_id].external_wait
    seconds = wait.timeout_seconds if wait is not None else DEFAULT_ANSWER_WITHIN_SECONDS
    return timedelta(seconds=seconds)


def backoff(policy: RetryPolicy, attempts: int) -> timedelta:
    """Exponential back-off with full jitter."""
    ceiling = min(policy.max_seconds, policy.initial_seconds * 2 ** max(0, attempts - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


_Wait = tuple[str, str, str, str, dict[str, Any]]
"""A timed-out wait: task id, department, capability, idempotency key, output so far."""


async def _timed_out_waits(session: AsyncSession, now: datetime, limit: int) -> list[_Wait]:
    """The waits for a department's answer whose time is up (oldest first)."""
    rows = await session.scalars(
        select(TaskRow)
        .where(TaskRow.state == TaskState.AWAITING_EXTERNAL.value)
        .where(TaskRow.capability.is_not(None))
        .where(TaskRow.due_at <= now)
        .order_by(TaskRow.due_at)
        .limit(limit)
    )
    return [
        (r.id, r.department or "", r.capability or "", r.idempotency_key, r.output or {})
        for r in rows
    ]


Sleep = Callable[[float], Awaitable[None]]
# A claimed step's call starts without asking the database while more than this share of its
# lease is left; otherwise its lease is renewed (and checked) first.
_RENEW_BEFORE_SHARE = 1 / 3


def _failure_of_recording(step: ClaimedStep, exc: Exception) -> Failure:
    """A result that could not be recorded: an attempt that failed, naming the step (and the
    expression, when a condition could not be evaluated)."""
    if isinstance(exc, ConditionFailed):
        return Failure(
            f"the result of step {step.step_id!r} could not be recorded: {exc}",
            permanent=False,
            expression=exc.expression,
        )
    return Failure(
        f"the result of step {step.step_id!r} could not be recorded: {type(exc).__name__}: {exc}",
        permanent=False,
    )


class StepRunner:
    """Runs leased steps: capabilities through the gateway, other kinds through handlers.

    Leases are per call (ADR 0038): each claimed step's lease is renewed while its call is in
    flight (a heartbeat every third of the lease) and its result is recorded as soon as it is
    known, in a short transaction shared only with results known at the same moment; no
    remote call runs inside a database transaction.
    A result is recorded only by the worker that still holds the step's lease for the round
    it claimed (``attempts`` is the fencing token), so a call whose lease was lost never
    overwrites the new owner's result.
    """

    def __init__(
        self,
        container: Container,
        gateway: CapabilityGateway | None,
        handlers: Mapping[str, StepExecutor] | None = None,
        callback_url: Callable[[str], str] | None = None,
        kinds: StepKinds | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        """``kinds`` is the step-kind registry (the platform's by default); ``handlers`` plugs
        executors provided by other modules into it (the documents module's licence issuer).
        ``sleep`` paces the lease heartbeat (``asyncio.sleep``; tests tick it by hand)."""
        self.container = container
        self.gateway = gateway
        self.kinds = (kinds or step_kinds()).with_executors(handlers or {})
        self.callback_url = callback_url
        self.sleep: Sleep = sleep or asyncio.sleep

    @property
    def tools(self) -> WorkerTools:
        """What executing steps may use (read each time: tests swap the gateway)."""
        return WorkerTools(self.gateway, self.callback_url)

    @property
    def lease(self) -> timedelta:
        """How long a claim (or a renewal) lasts."""
        return timedelta(seconds=self.container.settings.worker_lease_seconds)

    async def run_once(self, worker_id: str) -> int:
        """Claim one batch and run it, recording each result as soon as it is known, then end
        the waits that timed out; returns how many steps were handled.

        The timed-out waits are read in the claim's transaction: a poll is one transaction,
        not two (the separate read cost the PostgreSQL benchmark about a tenth of its steps/s,
        issue 18). They are ended after the batch, so the claimed leases never wait behind a
        department's status poll."""
        settings, clock = self.container.settings, self.container.clock
        now = clock.now()
        async with self.container.uow() as uow:
            waits = await _timed_out_waits(uow.session, now, settings.worker_batch_size)
            rows = await claim_steps(
                uow.session, worker_id, now, settings.worker_batch_size, self.lease
            )
            claimed = [(self._claimed(uow.session, r), r.lease_until or now) for r in rows]
            await uow.commit()
        handled = await self._run_claimed(worker_id, claimed)
        return handled + await self._end_waits(waits, now)

    async def expire_waits(self) -> int:
        """Steps whose department did not answer in time: ask the department (the
        connector's polling fallback) and take its answer through the same completion path
        as a callback; without one, call again under the step's retry policy, and after its
        last attempt dead-letter. Returns how many waits ended. No remote call runs inside
        a database transaction."""
        now = self.container.clock.now()
        async with self.container.uow() as uow:
            waits = await _timed_out_waits(
                uow.session, now, self.container.settings.worker_batch_size
            )
        return await self._end_waits(waits, now)

    async def _end_waits(self, waits: Sequence[_Wait], now: datetime) -> int:
        ended = 0
        for task_id, department, capability, key, output in waits:
            reference = str(output.get("external_reference") or "")
            if await self._ask(department, capability, key, reference):
                ended += 1
                continue
            ended += await self._time_out(task_id, now)
        return ended

    async def _ask(self, department: str, capability: str, key: str, reference: str) -> bool:
        """Whether the department, asked, had the answer (and the engine took it)."""
        gateway = self.gateway
        if not reference or not isinstance(gateway, AnswerPoller):
            return False
        try:
            found = await gateway.fetch_completion(department, capability, reference)
        except ConnectorError as exc:
            log.warning("status_poll_failed", department=department, error=str(exc)[:200])
            return False
        if found is None:
            return False
        if not found.idempotency_key:  # the status answer names only the reference we asked
            found = replace(found, idempotency_key=key)
        verdict = await complete_external_step(self.container, found)
        return verdict.accepted

    async def _time_out(self, task_id: str, now: datetime) -> int:
        async with self.container.uow() as uow:
            found = await uow.session.get(TaskRow, task_id)
            if found is None:
                return 0
            case = await load_case(uow.session, found.application_id, lock=True)
            task = case.tasks[found.step_id]
            if (
                task.state != TaskState.AWAITING_EXTERNAL.value
                or task.due_at is None
                or task.due_at > now
            ):
                return 0  # answered (or handled by another worker) meanwhile
            within = answer_within(case, task.step_id)
            error = (
                f"no answer from {task.department} to step {task.step_id!r} within "
                f"{int(within.total_seconds())} s (attempt {task.attempts})"
            )
            task.last_error, task.updated_at = error, now
            policy = _retry_of(task)
            if task.attempts >= policy.max_attempts:
                await dead_letter(uow.session, case, task, error, now)
            else:
                task.state, task.due_at = TaskState.READY.value, now
            await uow.commit()
        log.warning("external_wait_timed_out", task_id=task_id, error=error)
        return 1

    async def _run_claimed(
        self, worker_id: str, claimed: Sequence[tuple[ClaimedStep, datetime]]
    ) -> int:
        if not claimed:
            return 0
        in_flight: dict[str, ClaimedStep] = {}
        recorder = _Recorder(self, worker_id, in_flight)
        margin = self.lease * _RENEW_BEFORE_SHARE  # a call this close to its lease end renews
        heartbeat = asyncio.create_task(self._heartbeat(worker_id, in_flight))
        try:
            if self.container.database.is_postgresql:
                await asyncio.gather(
                    *(
                        self._run_one(worker_id, c, until - margin, in_flight, recorder)
                        for c, until in claimed
                    )
                )
            else:  # SQLite: the calls still run, one after another, beside the single writer
                for c, until in claimed:
                    await self._run_one(worker_id, c, until - margin, in_flight, recorder)
            await recorder.settled()
        finally:
            recorder.cancel()
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        return len(claimed)

    async def _run_one(
        self,
        worker_id: str,
        step: ClaimedStep,
        renew_from: datetime,
        in_flight: dict[str, ClaimedStep],
        recorder: _Recorder,
    ) -> None:
        """Run one claimed step under its own lease and record its outcome (renewing the lease
        first if the call starts at or after ``renew_from``)."""
        if step.attempts > step.retry.max_attempts:
            # Every earlier round ran out of its lease without a recorded outcome (the worker
            # died or hung): those rounds were attempts, and there is no other one.
            recorder.record(
                step,
                Failure(
                    f"step {step.step_id!r}: no outcome was recorded in "
                    f"{step.retry.max_attempts} attempts (each lease ran out)",
                    permanent=True,
                    counts=False,
                ),
            )
            return
        # Queued behind slower calls (SQLite runs one at a time): is the step still ours?
        late = self.container.clock.now() >= renew_from
        if late and step.task_id in await self.renew_leases(worker_id, [step]):
            log.info("lease_lost_before_call", task_id=step.task_id, step=step.step_id)
            return
        in_flight[step.task_id] = step  # the heartbeat keeps it ours until it is recorded
        try:
            outcome = await self._outcome(step)
        except BaseException:
            in_flight.pop(step.task_id, None)
            raise
        recorder.record(step, outcome)  # the next call need not wait for it (nor its record)

    async def _heartbeat(self, worker_id: str, in_flight: dict[str, ClaimedStep]) -> None:
        """Renew the leases of the calls in flight every third of the lease."""
        every = self.container.settings.worker_lease_seconds / 3
        while True:
            await self.sleep(every)
            if not in_flight:
                continue
            try:
                lost = await self.renew_leases(worker_id, list(in_flight.values()))
            except Exception as exc:  # the database is away: the next beat tries again
                log.warning("lease_renewal_failed", error=type(exc).__name__)
                continue
            for task_id in lost & set(in_flight):  # (not those recorded meanwhile)
                log.warning("lease_lost_in_flight", task_id=task_id)

    async def renew_leases(self, worker_id: str, steps: Sequence[ClaimedStep]) -> set[str]:
        """Extend the leases this worker still holds on ``steps`` (for the round it claimed);
        returns the ids of those it lost (taken over, finished or cancelled meanwhile).

        One short transaction per step, so a renewal never holds one task's row lock while
        waiting for another's (a sibling's result being recorded)."""
        now = self.container.clock.now()
        lost: set[str] = set()
        for step in steps:
            async with self.container.uow() as uow:
                result = await uow.session.execute(
                    update(TaskRow)
                    .where(
                        TaskRow.id == step.task_id,
                        TaskRow.state == TaskState.RUNNING.value,
                        TaskRow.lease_owner == worker_id,
                        TaskRow.attempts == step.attempts,
                    )
                    .values(lease_until=now + self.lease, updated_at=now)
                    .execution_options(synchronize_session=False)
                )
                if cast(CursorResult[Any], result).rowcount == 0:
                    lost.add(step.task_id)
                await uow.commit()
        return lost

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

    async def _record_safely(self, worker_id: str, step: ClaimedStep, outcome: Outcome) -> None:
        """Record an outcome; if that fails, record the failure to record it as a failed
        attempt (dead-lettered after the step's maximum), never leaving the step leased.

        A pooled connection the server had dropped (a restart, a failover; ADR 0078) is not the
        step's failure: the pool has reconnected, so the outcome is recorded again, once. If
        the first COMMIT did go through, the step's lease is gone and the second record leaves
        it as it is (``lease_lost``): recorded once either way."""
        try:
            try:
                await self._record(worker_id, step, outcome)
            except DBAPIError as lost:
                if not lost.connection_invalidated:
                    raise
                log.warning("step_record_reconnected", task_id=step.task_id, step=step.step_id)
                await self._record(worker_id, step, outcome)
        except Exception as exc:
            log.exception("step_record_failed", task_id=step.task_id, step=step.step_id)
            try:
                await self._record(worker_id, step, _failure_of_recording(step, exc))
            except Exception:  # the database is away: the lease runs out, the round counts
                log.exception("step_failure_record_failed", task_id=step.task_id)

    async def _record(self, worker_id: str, step: ClaimedStep, outcome: Outcome) -> None:
        """Record one outcome in its own transaction."""
        await self._record_many(worker_id, [(step, outcome)])

    async def _record_many(
        self, worker_id: str, batch: Sequence[tuple[ClaimedStep, Outcome]]
    ) -> None:
        """Record outcomes known at the same moment in one short transaction (applications
        locked in id order). A step whose lease for this round was lost meanwhile is left as
        it is: taken over, completed by a callback, or cancelled with its case."""
        now = self.container.clock.now()
        with use_step_kinds(self.kinds):  # successors activate with this runner's registry
            async with self.container.uow() as uow:
                cases = await load_cases(
                    uow.session, [step.application_id for step, _ in batch], lock=True
                )
                # the chains completed steps append to, locked and read at once (two
                # statements, not two a case; ADR 0067)
                completing = {
                    chain_key("application", step.application_id)
                    for step, outcome in batch
                    if not isinstance(outcome, Failure)
                    and outcome.outcome is not CallOutcome.ACCEPTED
                }
                if len(completing) > 1:
                    await lock_chains(uow.session, completing)
                for step, outcome in batch:
                    case = cases[step.application_id]
                    task = case.tasks[step.step_id]
                    if (
                        task.state != TaskState.RUNNING.value
                        or task.lease_owner != worker_id
                        or task.attempts != step.attempts
                    ):
                        log.info("lease_lost", task_id=step.task_id, step=step.step_id)
                        continue
                    await self._record_in(uow.session, case, task, step, outcome, now)
                await uow.commit()

    async def _record_in(
        self,
        session: AsyncSession,
        case: CaseContext,
        task: TaskRow,
        step: ClaimedStep,
        outcome: Outcome,
        now: datetime,
    ) -> None:
        task.lease_owner, task.lease_until, task.updated_at = None, None, now
        if isinstance(outcome, Failure):
            await self._record_failure(session, case, task, step, outcome, now)
        elif outcome.outcome is CallOutcome.ACCEPTED:
            task.last_error = None
            task.state = TaskState.AWAITING_EXTERNAL.value
            task.output = {"external_reference": outcome.external_reference, **outcome.output}
            if task.capability:  # the department's answer is due by then (the wait's timeout)
                task.due_at = now + answer_within(case, task.step_id)
            add_timeline(
                session,
                case.app,
                now,
                "step.waiting",
                f"{task.department}: request received, waiting for their answer",
                task,
            )
        else:
            task.last_error = None
            try:
                await complete_step(session, case, task, outcome.output, now)
            except ModelError as exc:
                failure = Failure(f"decision model failed: {exc}", permanent=True)
                await self._record_failure(session, case, task, step, failure, now)

    async def _record_failure(
        self,
        session: AsyncSession,
        case: CaseContext,
        task: TaskRow,
        step: ClaimedStep,
        failure: Failure,
        now: datetime,
    ) -> None:
        error = failure.error
        if failure.expression is not None:
            where = [
                f"{s.id}.{name}"
                for s in case.graph.steps.values()
                for name, text in (("when", s.when), ("reject_when", s.reject_when))
                if text == failure.expression
            ]
            error = f"{error} (in {', '.join(where) or 'a condition'})"
        task.last_error = error[:2000]
        if not failure.counts:
            task.attempts = max(0, task.attempts - 1)
        if failure.permanent or task.attempts >= step.retry.max_attempts:
            await dead_letter(session, case, task, error, now)
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


class _Recorder:
    """Records outcomes as they become known: those that arrive together share one
    transaction; if that fails, each is recorded (or its failure to record is) on its own.

    One drain task runs while outcomes are waiting and ends when none are (a burst of results
    costs one task, not a future per step); a step leaves ``in_flight`` (the heartbeat's
    list) once its outcome is recorded."""

    def __init__(
        self, runner: StepRunner, worker_id: str, in_flight: dict[str, ClaimedStep]
    ) -> None:
        self.runner = runner
        self.worker_id = worker_id
        self.in_flight = in_flight
        self.waiting: list[tuple[ClaimedStep, Outcome]] = []
        self.draining: asyncio.Task[None] | None = None

    def record(self, step: ClaimedStep, outcome: Outcome) -> None:
        """Hand an outcome over; the running drain takes it, or a new one starts."""
        self.waiting.append((step, outcome))
        if self.draining is None or self.draining.done():
            self.draining = asyncio.create_task(self._drain())

    async def settled(self) -> None:
        """Wait until every outcome handed over is recorded."""
        while self.draining is not None and not self.draining.done():
            await asyncio.shield(self.draining)
        if self.draining is not None:
            self.draining.result()  # a drain that failed fails the batch

    def cancel(self) -> None:
        """Stop recording (the batch was cancelled): unrecorded leases run out and count."""
        if self.draining is not None:
            self.draining.cancel()

    async def _drain(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting, []
            try:
                await self._record(batch)
            finally:
                for step, _ in batch:
                    self.in_flight.pop(step.task_id, None)

    async def _record(self, batch: list[tuple[ClaimedStep, Outcome]]) -> None:
        if len(batch) > 1:
            try:
                await self.runner._record_many(self.worker_id, batch)
                return
            except Exception:
                log.warning("batch_record_failed", size=len(batch))
        for step, outcome in batch:
            await self.runner._record_safely(self.worker_id, step, outcome)


def _retry_of(row: TaskRow) -> RetryPolicy:
    policy = row.retry_policy or {}
    return RetryPolicy(
        max_attempts=int(policy.get("max_attempts", 8)),
        initial_seconds=float(policy.get("initial_seconds", 1.0)),
        max_seconds=float(policy.get("max_seconds", 300.0)),
    )
