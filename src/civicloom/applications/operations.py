"""The operator's use cases: the dead-letter list, re-drive and abandon."""

from __future__ import annotations

from sqlalchemy import and_, or_, select

from civicloom.applications.case import add_timeline, audit, load_case, wake_workers
from civicloom.applications.casework import Forbidden
from civicloom.applications.domain import ApplicationState, TaskState
from civicloom.applications.engine import finish_case
from civicloom.applications.queries import dead_letter_view
from civicloom.applications.tables import DeadLetterRow
from civicloom.applications.views import DeadLetterView
from civicloom.audit import AuditAction
from civicloom.db import UnitOfWork
from civicloom.kernel import Clock, Conflict, Cursor, NotFound, Page, Principal


class CaseFinished(Conflict):
    """A dead letter of a finished (withdrawn, approved, rejected, failed) application."""


DEAD_LETTERS_PAGE = 100
"""Dead letters per page (API default; at most ``DEAD_LETTERS_MAX``)."""
DEAD_LETTERS_MAX = 500


async def dead_letters_page(
    uow: UnitOfWork,
    principal: Principal,
    include_resolved: bool = False,
    cursor: Cursor | None = None,
    limit: int = DEAD_LETTERS_PAGE,
) -> Page[DeadLetterView]:
    """A page of the operator's dead letters, newest first, keyset-paged on (created at, id)
    over ``ix_dead_letters_created``."""
    if "operator" not in principal.roles:
        raise Forbidden("only operators see dead letters")
    created, ident = DeadLetterRow.created_at, DeadLetterRow.id
    backwards = cursor is not None and cursor.direction == "before"
    query = select(DeadLetterRow)
    if not include_resolved:
        query = query.where(DeadLetterRow.resolved_at.is_(None))
    if cursor is not None and backwards:
        query = query.where(
            or_(created > cursor.at, and_(created == cursor.at, ident > cursor.id))
        ).order_by(created, ident)
    else:
        if cursor is not None:
            query = query.where(
                or_(created < cursor.at, and_(created == cursor.at, ident < cursor.id))
            )
        query = query.order_by(created.desc(), ident.desc())
    async with uow:
        rows = list(await uow.session.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    items = [dead_letter_view(row) for row in rows]
    if not rows:
        return Page(items, None, None)
    has_next = True if backwards else more
    has_previous = more if backwards else cursor is not None
    return Page(
        items,
        Cursor("after", rows[-1].created_at, rows[-1].id).encode() if has_next else None,
        Cursor("before", rows[0].created_at, rows[0].id).encode() if has_previous else None,
    )


async def list_dead_letters(
    uow: UnitOfWork, principal: Principal, include_resolved: bool = False
) -> list[DeadLetterView]:
    """The operator's newest dead letters (the first page; ``dead_letters_page`` for more)."""
    return (await dead_letters_page(uow, principal, include_resolved)).items


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
