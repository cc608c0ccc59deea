"""Finishing steps: recording a result (and its decision), dead-lettering a step that keeps
failing, and taking a department's late answer for a step that was waiting for it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.case import CaseContext, add_timeline, audit, emit, load_case
from civicloom.applications.domain import ApplicationState, TaskState
from civicloom.applications.engine import after_step, evaluate_declared, keep_decision
from civicloom.applications.graph import ConditionFailed
from civicloom.applications.tables import DeadLetterRow, TaskRow
from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.catalogue import StepKind
from civicloom.departments import (
    PAYMENTS_SENDER,
    CompletionRefusal,
    CompletionVerdict,
    ExternalCompletion,
)
from civicloom.kernel import new_id
from civicloom.observability import get_logger
from civicloom.outbox import EventType
from civicloom.rules import ModelError
from civicloom.runtime import Container

log = get_logger("civicloom.applications.completion")
SENDER_ACTOR_PREFIX = "system:completion-from:"
"""Audit actor of a refused answer: the sender that authenticated it."""


async def complete_step(
    session: AsyncSession, case: CaseContext, task: TaskRow, output: dict[str, Any], now: datetime
) -> None:
    """Record a step's result, evaluate the step's decision model if it has one, move on.

    The model is evaluated before anything changes, so a model that cannot decide
    (``ModelError``) leaves the step as it was for the caller to dead-letter.
    """
    declaration = case.graph.steps[task.step_id].decision
    decision = None
    if declaration is not None:
        context = case.expression_context()
        context["steps"][task.step_id] = {"state": TaskState.COMPLETED.value, "output": output}
        decision = evaluate_declared(session, declaration, context, case.app, now)
    task.state, task.output, task.completed_at, task.updated_at = (
        TaskState.COMPLETED.value,
        output,
        now,
        now,
    )
    if decision is not None:
        await keep_decision(session, case, task.step_id, decision, now)
    add_timeline(
        session,
        case.app,
        now,
        "step.completed",
        f"{task.department or 'platform'}: {task.step_id} done",
        task,
    )
    await audit(
        session,
        "system:case-engine",
        AuditAction.STEP_COMPLETED,
        case.app,
        now,
        task.department,
        {"step": task.step_id, "attempts": task.attempts},
    )
    await after_step(session, case, task, now)


async def dead_letter(
    session: AsyncSession,
    case: CaseContext,
    task: TaskRow,
    error: str,
    now: datetime,
) -> None:
    """Park a step that keeps failing where an operator can re-drive or abandon it."""
    task.state = TaskState.FAILED.value
    session.add(
        DeadLetterRow(
            id=new_id(),
            task_id=task.id,
            application_id=task.application_id,
            department=task.department,
            capability=task.capability,
            attempts=task.attempts,
            error=error[:4000],
            payload_summary={
                "step": task.step_id,
                "input_fields": sorted((task.input or {}).keys()),
            },
            created_at=now,
        )
    )
    add_timeline(
        session,
        case.app,
        now,
        "step.delayed",
        f"{task.department}: delayed; our team is looking into it",
        task,
    )
    await emit(
        session,
        case.app,
        now,
        EventType.TASK_DEAD_LETTERED,
        {"task_id": task.id, "step": task.step_id, "department": task.department},
        key=f"task.dead_lettered:{task.id}:{task.attempts}",
    )
    await audit(
        session,
        "system:case-engine",
        AuditAction.STEP_DEAD_LETTERED,
        case.app,
        now,
        task.department,
        {"step": task.step_id, "attempts": task.attempts},
    )


UNRECORDABLE = (ConditionFailed, ModelError)
"""What makes a result impossible to record (the case cannot go on with it): such a result is
recorded on its step and the step dead-lettered, naming the step and the expression."""


def unrecordable(case: CaseContext, step_id: str, exc: Exception) -> str:
    """The dead letter's error for a result the case could not go on with."""
    if isinstance(exc, ConditionFailed):
        where = [
            f"{s.id}.{name}"
            for s in case.graph.steps.values()
            for name, text in (("when", s.when), ("reject_when", s.reject_when))
            if text == exc.expression
        ]
        return (
            f"the result of step {step_id!r} could not be recorded: {exc} "
            f"(in {', '.join(where) or 'a condition'})"
        )
    return f"the result of step {step_id!r} could not be recorded: decision model failed: {exc}"


async def park_result(
    session: AsyncSession,
    case: CaseContext,
    task: TaskRow,
    output: dict[str, Any],
    error: str,
    now: datetime,
) -> None:
    """Keep a result the case cannot go on with on its step, and dead-letter the step."""
    task.output, task.last_error, task.updated_at = output, error[:2000], now
    task.lease_owner, task.lease_until = None, None
    await dead_letter(session, case, task, error, now)
    log.warning("result_dead_lettered", task_id=task.id, step=task.step_id, error=error[:300])


def _refusal(task: TaskRow, completion: ExternalCompletion) -> CompletionRefusal | None:
    """Whether this sender may answer this task at all (ADR 0032): a department answers only
    the capability-calling steps of its own department (and the capability its channel named);
    the payments module answers only payment steps."""
    sender = completion.received_from
    if sender == PAYMENTS_SENDER:
        return None if task.kind == StepKind.PAYMENT else CompletionRefusal.WRONG_STEP_KIND
    if task.department != sender:
        return CompletionRefusal.WRONG_DEPARTMENT
    if task.kind == StepKind.PAYMENT or not task.capability:
        return CompletionRefusal.WRONG_STEP_KIND
    if completion.capability is not None and completion.capability != task.capability:
        return CompletionRefusal.WRONG_CAPABILITY
    return None


async def _refuse(
    container: Container,
    completion: ExternalCompletion,
    refusal: CompletionRefusal,
    about: dict[str, str],
    waits_again: bool = False,
) -> CompletionVerdict:
    """Audit a refused answer (in its own transaction) and change nothing else."""
    sender = completion.received_from[:50]
    details: dict[str, Any] = {
        "sender": sender,
        "reason": refusal.value,
        "key": completion.idempotency_key[:200],
        "capability": completion.capability,
    }
    details |= about
    async with container.uow() as uow:
        await append_audit(
            uow.session,
            AuditRecord(
                actor=f"{SENDER_ACTOR_PREFIX}{sender}",
                action=AuditAction.COMPLETION_REFUSED,
                subject_type="completion-sender",
                subject_id=sender,
                occurred_at=container.clock.now(),
                department=None if sender == PAYMENTS_SENDER else sender,
                details=details,
            ),
        )
        await uow.commit()
    log.warning(
        "completion_refused",
        sender=completion.received_from,
        reason=refusal.value,
        step=about.get("step"),
    )
    return CompletionVerdict(refusal, waits_again=waits_again)


async def complete_external_step(
    container: Container, completion: ExternalCompletion
) -> CompletionVerdict:
    """A department (or the payments module) answered an accepted call: finish the step.

    The answer is taken only for a task bound to its sender, step kind and capability, while
    the task waits for it and its case is open (ADR 0032). Anything else is refused: the
    refusal is audited (``completion.refused``) and nothing else changes. The verdict is
    falsy when refused; a duplicate answer to a finished step is refused as ``not-waiting``.
    """
    now, error, waits_again = container.clock.now(), "", False
    async with container.uow() as uow:
        task = await uow.session.scalar(
            select(TaskRow).where(TaskRow.idempotency_key == completion.idempotency_key)
        )
        refusal = CompletionRefusal.UNKNOWN_TASK if task is None else _refusal(task, completion)
        about = (
            {} if task is None else {"application_id": task.application_id, "step": task.step_id}
        )
        if task is not None and refusal is None:
            case = await load_case(uow.session, task.application_id, lock=True)
            task = case.tasks[task.step_id]
            if ApplicationState(case.app.state).is_final:
                refusal = CompletionRefusal.CASE_CLOSED
            elif task.state not in (TaskState.AWAITING_EXTERNAL.value, TaskState.RUNNING.value):
                refusal = CompletionRefusal.NOT_WAITING
                # Its wait timed out and it calls again soon: this key may still be answered.
                waits_again = task.state == TaskState.READY.value
            else:
                task.lease_owner, task.lease_until = None, None
                try:
                    await complete_step(uow.session, case, task, completion.output, now)
                except UNRECORDABLE as exc:
                    error = unrecordable(case, task.step_id, exc)
                else:
                    await uow.commit()
                    return CompletionVerdict()
    if refusal is None:  # the answer is taken, but the case cannot go on with it
        return await _park_answer(container, completion, error)
    return await _refuse(container, completion, refusal, about, waits_again)


async def _park_answer(
    container: Container, completion: ExternalCompletion, error: str
) -> CompletionVerdict:
    """Record the answer on its step and dead-letter the step (in a fresh transaction: the
    failed attempt's partial writes are rolled back). A department retrying gets the same
    definite verdict, never a loop."""
    now = container.clock.now()
    async with container.uow() as uow:
        found = await uow.session.scalar(
            select(TaskRow).where(TaskRow.idempotency_key == completion.idempotency_key)
        )
        assert found is not None
        case = await load_case(uow.session, found.application_id, lock=True)
        task = case.tasks[found.step_id]
        if ApplicationState(case.app.state).is_final or task.state not in (
            TaskState.AWAITING_EXTERNAL.value,
            TaskState.RUNNING.value,
        ):
            about = {"application_id": task.application_id, "step": task.step_id}
            refusal = CompletionRefusal.NOT_WAITING
        else:
            await park_result(uow.session, case, task, completion.output, error, now)
            await uow.commit()
            return CompletionVerdict(dead_letter=error)
    return await _refuse(container, completion, refusal, about)
