"""The operator's use cases: the dead-letter list, re-drive and abandon."""

from __future__ import annotations

from sqlalchemy import select

from civicloom.applications.case import add_timeline, audit, load_case, wake_workers
from civicloom.applications.casework import Forbidden
from civicloom.applications.domain import ApplicationState, TaskState
from civicloom.applications.engine import finish_case
from civicloom.applications.queries import dead_letter_view
from civicloom.applications.tables import DeadLetterRow
from civicloom.applications.views import DeadLetterView
from civicloom.audit import AuditAction
from civicloom.db import UnitOfWork
from civicloom.kernel import Clock, Conflict, NotFound, Principal


class CaseFinished(Conflict):
    """A dead letter of a finished (withdrawn, approved, rejected, failed) application."""


async def list_dead_letters(
    uow: UnitOfWork, principal: Principal, include_resolved: bool = False
) -> list[DeadLetterView]:
    """The operator's dead-letter list."""
    if "operator" not in principal.roles:
        raise Forbidden("only operators see dead letters")
    async with uow:
        query = select(DeadLetterRow).order_by(DeadLetterRow.created_at.desc())
        if not include_resolved:
            query = query.where(DeadLetterRow.resolved_at.is_(None))
        return [dead_letter_view(row) for row in await uow.session.scalars(query)]


async def resolve_dead_letter(
    uow: UnitOfWork, clock: Clock, principal: Principal, dead_letter_id: str, redrive: bool
) -> DeadLetterView:
    """Re-drive (again, same idempotency key) or abandon (the application fails) a dead letter."""
    if "operator" not in principal.roles:
        raise Forbidden("only operators resolve dead letters")
    async with uow:
        letter = await uow.session.get(DeadLetterRow, dead_letter_id)
        if letter is None:
            raise NotFound(f"no dead letter {dead_letter_id!r}")
        case = await load_case(uow.session, letter.application_id, lock=True)
        finished = ApplicationState(case.app.state)
        if finished.is_final:  # nothing of a finished case runs again, nor is it re-decided
            raise CaseFinished(
                f"application {case.app.reference} is already {finished.value}: "
                "its dead letters are closed"
            )
        if letter.resolved_at is not None:
            raise Conflict(f"already {letter.resolution}")
        task = next(t for t in case.tasks.values() if t.id == letter.task_id)
        now = clock.now()
        letter.resolved_at, letter.resolved_by = now, principal.subject
        letter.resolution = "redriven" if redrive else "abandoned"
        if redrive:
            task.state, task.attempts, task.due_at, task.updated_at = (
                TaskState.READY.value,
                0,
                now,
                now,
            )
            add_timeline(
                uow.session, case.app, now, "step.retried", f"{task.department}: trying again", task
            )
            await wake_workers(uow.session)
        else:
            await finish_case(
                uow.session,
                case,
                ApplicationState.FAILED,
                f"{task.department} could not process {task.step_id}",
                now,
                principal.audit_name,
            )
        await audit(
            uow.session,
            principal.audit_name,
            (AuditAction.DEAD_LETTER_REDRIVEN if redrive else AuditAction.DEAD_LETTER_ABANDONED),
            case.app,
            now,
            task.department,
            {"dead_letter": letter.id, "task": task.id},
        )
        await uow.commit()
    return dead_letter_view(letter)
