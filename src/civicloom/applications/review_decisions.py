"""Deciding a review of a refusal (ADR 0059): the reviewing department's list and page, four
eyes, and the decision — uphold, or overturn and reopen the case through the engine."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.case import (
    AuditNote,
    CaseContext,
    EventNote,
    TimelineNote,
    load_case,
    record_case_change,
    wake_workers,
)
from civicloom.applications.casework import Forbidden, exchanges_kept
from civicloom.applications.completion import complete_step
from civicloom.applications.deadlines import restart_clock
from civicloom.applications.domain import ApplicationState, TaskState
from civicloom.applications.engine import activate, after_step
from civicloom.applications.reviews import (
    REVIEWER_ROLE,
    ReviewDecision,
    ReviewState,
    ReviewView,
    check_reason,
    review_task_id,
    review_view,
)
from civicloom.applications.tables import ApplicationRow, ReviewRow, TaskRow
from civicloom.audit import AuditAction
from civicloom.db import UnitOfWork
from civicloom.kernel import Clock, Conflict, NotFound, Principal
from civicloom.outbox import EventType


def _is_staff_of(principal: Principal, department: str) -> bool:
    return principal.department == department and bool({"officer", REVIEWER_ROLE} & principal.roles)


def _with_case_and_task() -> Select[ReviewRow, ApplicationRow, str]:
    """Reviews with their application and the refused step's task (for the task page link)."""
    return (
        select(ReviewRow, ApplicationRow, TaskRow.id)
        .join(ApplicationRow, ApplicationRow.id == ReviewRow.application_id)
        .join(
            TaskRow,
            (TaskRow.application_id == ReviewRow.application_id)
            & (TaskRow.step_id == ReviewRow.step_id),
        )
    )


async def department_reviews(uow: UnitOfWork, principal: Principal) -> list[ReviewView]:
    """The reviews waiting for a decision in the officer's department, oldest first."""
    if principal.department is None or not {"officer", REVIEWER_ROLE} & principal.roles:
        return []
    async with uow:
        rows = await uow.session.execute(
            _with_case_and_task()
            .where(
                ReviewRow.department == principal.department,
                ReviewRow.state == ReviewState.REQUESTED.value,
            )
            .order_by(ReviewRow.requested_at)
            .limit(200)
        )
        return [review_view(review, app, task_id) for review, app, task_id in rows]


async def reviews_of_step(
    uow: UnitOfWork, principal: Principal, application_id: str, step_id: str
) -> list[ReviewView]:
    """The reviews of a step's refusals, newest first, for the staff of the step's department
    (anyone else: none), so the step's task page leads to them and their documents."""
    async with uow:
        rows = await uow.session.execute(
            _with_case_and_task()
            .where(ReviewRow.application_id == application_id, ReviewRow.step_id == step_id)
            .order_by(ReviewRow.requested_at.desc())
        )
        return [
            review_view(review, app, task_id)
            for review, app, task_id in rows
            if _is_staff_of(principal, review.department)
        ]


async def read_review(uow: UnitOfWork, principal: Principal, review_id: str) -> ReviewView:
    """One review, for the staff of its department (anyone else: not found)."""
    async with uow:
        row = await uow.session.get(ReviewRow, review_id)
        if row is None or not _is_staff_of(principal, row.department):
            raise NotFound(f"no review {review_id!r} in your department")
        app = await uow.session.get(ApplicationRow, row.application_id)
        assert app is not None
        return review_view(row, app, await review_task_id(uow.session, app.id, row.step_id))


def check_may_review(principal: Principal, row: ReviewRow, step_role: str | None) -> None:
    """Four eyes: the reviewer holds the refused step's role or is a supervisor, and is not the
    person who refused (403 otherwise)."""
    if row.refused_by is not None and row.refused_by == principal.subject:
        raise Forbidden("you took the decision under review: another officer reviews it")
    if REVIEWER_ROLE in principal.roles:
        return
    if step_role is not None and step_role not in principal.roles:
        raise Forbidden(f"reviewing this refusal needs the role {step_role!r} or supervisor")


async def decide_review(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    review_id: str,
    decision: ReviewDecision,
    reason: str,
) -> ReviewView:
    """Uphold or overturn a refusal, with a reason the applicant reads.

    Overturning reopens the case at the refused step: the step is approved by the reviewer (a
    step refused by its rule goes on without applying the rule again) and the steps the
    refusal cancelled wait or run again, so the case continues through the engine (payment,
    licence). It is refused if the application is no longer refused as it was (withdrawn, or
    decided again meanwhile).
    """
    text = check_reason(reason)
    async with uow:
        row = await uow.session.get(ReviewRow, review_id)
        if row is None or not _is_staff_of(principal, row.department):
            raise NotFound(f"no review {review_id!r} in your department")
        case = await load_case(uow.session, row.application_id, lock=True)
        await uow.session.refresh(row)  # read again under the application's lock
        if row.state != ReviewState.REQUESTED.value:
            raise Conflict(f"this review is already decided ({row.state})")
        check_may_review(principal, row, case.graph.steps[row.step_id].role)
        app = case.app
        now = clock.now()
        task = case.tasks[row.step_id]
        if decision is ReviewDecision.UPHOLD:
            row.state = ReviewState.UPHELD.value
            event, action, words = (
                EventType.REVIEW_UPHELD,
                AuditAction.REVIEW_UPHELD,
                "The refusal was looked at again and stays",
            )
        else:
            if app.state != ApplicationState.REJECTED.value or app.decided_at != row.refused_at:
                raise Conflict(f"the application is {app.state}: the refusal can no longer change")
            row.state = ReviewState.OVERTURNED.value
            event, action, words = (
                EventType.REVIEW_OVERTURNED,
                AuditAction.REVIEW_OVERTURNED,
                "The refusal was overturned: the application goes on",
            )
        row.decided_by, row.decided_at, row.decision_reason = principal.subject, now, text
        await record_case_change(
            uow.session,
            app,
            now,
            timeline=TimelineNote(f"review.{row.state}", words, row.step_id, row.department),
            event=EventNote(
                event,
                {"review_id": row.id, "department": row.department, "reason": text},
                key=f"{event.value}:{row.id}",
            ),
            audit=AuditNote(
                principal.audit_name,
                action,
                row.department,
                {"review": row.id, "step": row.step_id, "reason": text},
            ),
        )
        if decision is ReviewDecision.OVERTURN:
            await _reopen(uow.session, case, task, principal, row, now)
        await uow.commit()
        return review_view(row, app, task.id)


async def _reopen(
    session: AsyncSession,
    case: CaseContext,
    refused: TaskRow,
    principal: Principal,
    review: ReviewRow,
    now: datetime,
) -> None:
    """Undo the refusal's effects on the case and go on from the refused step.

    The authority decided in time: the weeks between the refusal and the overturn do not count
    against the legal deadline (a stopped clock from the refusal, restarted now), so a sweep
    never takes an overturned case for one whose deadline passed undecided."""
    app = case.app
    if app.clock_stopped_at is None:
        app.clock_stopped_at = review.refused_at
    restart_clock(session, case, [], now)
    app.state, app.decided_at, app.outcome_reason, app.updated_at = (
        ApplicationState.IN_PROGRESS.value,
        None,
        None,
        now,
    )
    again = []
    for task in case.tasks.values():
        if task is refused or task.state != TaskState.CANCELLED.value:
            continue
        task.state, task.updated_at = TaskState.WAITING.value, now
        if task.activated_at is not None:  # it was under way when the refusal cancelled it
            again.append(task)
    for task in again:
        await activate(session, case, task, now)
    if refused.state == TaskState.COMPLETED.value:  # its rule refused: go on without it
        await after_step(session, case, refused, now, overruled=True)
    else:  # an officer refused: the reviewer's approval is the step's result
        output = {
            **exchanges_kept(refused.output),  # the step's questions and answers stay readable
            "decision": "approved",
            "by": principal.subject,
            "reason": review.decision_reason,
            "review": review.id,
            "refused": refused.output,
        }
        await complete_step(session, case, refused, output, now)
    await wake_workers(session)
