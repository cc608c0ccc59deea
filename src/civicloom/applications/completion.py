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
from civicloom.applications.tables import DeadLetterRow, TaskRow
from civicloom.audit import AuditAction
from civicloom.departments import ExternalCompletion
from civicloom.kernel import new_id
from civicloom.outbox import EventType
from civicloom.runtime import Container


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


async def complete_external_step(container: Container, completion: ExternalCompletion) -> bool:
    """A department answered an accepted call (callback, batch file, payment): finish the step.

    Returns False for a duplicate or late answer to a step that already finished.
    """
    now = container.clock.now()
    async with container.uow() as uow:
        task = await uow.session.scalar(
            select(TaskRow).where(TaskRow.idempotency_key == completion.idempotency_key)
        )
        if task is None:
            return False
        case = await load_case(uow.session, task.application_id, lock=True)
        task = case.tasks[task.step_id]
        if task.state not in (TaskState.AWAITING_EXTERNAL.value, TaskState.RUNNING.value):
            return False
        if ApplicationState(case.app.state).is_final:
            return False
        task.lease_owner, task.lease_until = None, None
        await complete_step(uow.session, case, task, completion.output, now)
        await uow.commit()
    return True
