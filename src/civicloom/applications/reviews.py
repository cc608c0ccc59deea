"""Reviews of refusals (ADR 0059): the applicant asks, within 30 days of the refusal, that it be
looked at again; a reviewer of the department whose step refused, who is not the person who
refused, upholds it (with reasons and the next avenue) or overturns it, and the case goes on
through the engine from the refused step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.case import (
    AuditNote,
    CaseContext,
    EventNote,
    TimelineNote,
    emit,
    load_case,
    record_case_change,
)
from civicloom.applications.deadlines import case_calendar
from civicloom.applications.domain import ApplicationState, TaskState
from civicloom.applications.graph import condition_holds
from civicloom.applications.tables import ApplicationRow, ReviewRow, TaskRow
from civicloom.audit import AuditAction
from civicloom.catalogue import HolidayCalendar
from civicloom.db import UnitOfWork
from civicloom.kernel import (
    Clock,
    Conflict,
    FieldError,
    NotFound,
    Principal,
    ValidationFailed,
    new_id,
    normalise_text,
)
from civicloom.outbox import EventType

REVIEW_WITHIN_DAYS = 30  # what the refusal e-mail promises: calendar days after the refusal
REVIEW_ANSWER_WORKING_DAYS = 10  # the review's own SLA, in the blueprint's calendar
REVIEW_REMIND_WORKING_DAYS_BEFORE = 2  # the deciders are reminded this many working days before
REASON_MAX = 2000
REVIEWER_ROLE = "supervisor"  # besides the refused step's own role


class ReviewState(StrEnum):
    """Where a review stands."""

    REQUESTED = "requested"
    UPHELD = "upheld"
    OVERTURNED = "overturned"


class ReviewDecision(StrEnum):
    """What a reviewer decides."""

    UPHOLD = "uphold"
    OVERTURN = "overturn"


class ReviewWindowClosed(Conflict):
    """The time to ask for a review of this refusal has passed."""

    slug = "review-window-closed"
    title = "The review window has closed"


@dataclass(frozen=True)
class ReviewWindow:
    """Until when a refusal can be reviewed: the last day (inclusive) and whether it is open."""

    last_day: date
    open: bool


@dataclass(frozen=True)
class ReviewView:
    """One review, as the applicant and the reviewing department read it."""

    id: str
    application_id: str
    reference: str
    service_id: str
    blueprint_version_id: str
    step_id: str
    task_id: str
    department: str
    refused_at: datetime
    refused_by: str | None
    refusal_reason: str | None
    state: ReviewState
    reason: str
    document_id: str | None
    requested_at: datetime
    due_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None


@dataclass(frozen=True)
class ApplicantReview:
    """What the application page says about reviews: the window of the current refusal (None
    when the application is not refused) and the latest review asked for."""

    window: ReviewWindow | None
    review: ReviewView | None


def decider_roles(step_role: str | None) -> list[str]:
    """The roles that may decide a review of a step's refusal (``check_may_review``): the
    step's own role and supervisors; any officer of the department when the step has none."""
    return sorted({step_role or "officer", REVIEWER_ROLE})


def review_window(calendar: HolidayCalendar, refused_at: datetime, now: datetime) -> ReviewWindow:
    """30 calendar days from the day of the refusal; a last day that is not a working day in the
    blueprint's calendar moves to the next working day (days counted in UTC)."""
    last = refused_at.date() + timedelta(days=REVIEW_WITHIN_DAYS)
    while not calendar.is_working_day(last):
        last += timedelta(days=1)
    return ReviewWindow(last, now.date() <= last)


def check_reason(text: str, field: str = "reason") -> str:
    """A reason a person wrote: required, at most ``REASON_MAX`` characters, no control or
    hidden formatting characters (ValidationFailed naming the field and the rule)."""
    if not text.strip():
        raise ValidationFailed([FieldError(field, "required", f"{field} is required")])
    if len(text) > REASON_MAX:
        raise ValidationFailed(
            [FieldError(field, "max-length", f"{field} must be {REASON_MAX} characters or fewer")]
        )
    return normalise_text(text.strip(), field)


def refused_step(case: CaseContext) -> tuple[TaskRow, str | None] | None:
    """The step whose outcome refused the application, and who refused (None: its rule)."""
    for task in case.tasks.values():
        output = task.output or {}
        if output.get("decision") == "rejected":
            return task, str(output.get("by") or "") or None
    context = case.expression_context()
    done = [t for t in case.tasks.values() if t.state == TaskState.COMPLETED.value]
    for task in sorted(done, key=lambda t: t.completed_at or t.updated_at, reverse=True):
        rule = case.graph.steps[task.step_id].reject_when
        if rule and condition_holds(rule, context):
            return task, None
    return None


def review_view(row: ReviewRow, app: ApplicationRow, task_id: str) -> ReviewView:
    return ReviewView(
        id=row.id,
        application_id=row.application_id,
        reference=app.reference,
        service_id=app.service_id,
        blueprint_version_id=app.blueprint_version_id,
        step_id=row.step_id,
        task_id=task_id,
        department=row.department,
        refused_at=row.refused_at,
        refused_by=row.refused_by,
        refusal_reason=row.refusal_reason,
        state=ReviewState(row.state),
        reason=row.reason,
        document_id=row.document_id,
        requested_at=row.requested_at,
        due_at=row.due_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision_reason=row.decision_reason,
    )


async def review_task_id(session: AsyncSession, application_id: str, step_id: str) -> str:
    found = await session.scalar(
        select(TaskRow.id).where(
            TaskRow.application_id == application_id, TaskRow.step_id == step_id
        )
    )
    return found or ""


async def _own_case(uow: UnitOfWork, applicant: Principal, application_id: str) -> CaseContext:
    """The applicant's own application, locked (another person's id is not found)."""
    app = await uow.session.get(ApplicationRow, application_id)
    if app is None or app.applicant_id != applicant.subject:
        raise NotFound(f"no application {application_id!r} for this applicant")
    return await load_case(uow.session, application_id, lock=True)


async def applicant_review(
    uow: UnitOfWork, clock: Clock, applicant: Principal, application_id: str
) -> ApplicantReview:
    """The review window and the latest review of the applicant's own application."""
    async with uow:
        # One statement for the page of an application that was never refused.
        found = (
            await uow.session.execute(
                select(ApplicationRow, ReviewRow)
                .outerjoin(ReviewRow, ReviewRow.application_id == ApplicationRow.id)
                .where(ApplicationRow.id == application_id)
                .order_by(ReviewRow.requested_at.desc())
                .limit(1)
            )
        ).first()
        if found is None or found[0].applicant_id != applicant.subject:
            raise NotFound(f"no application {application_id!r} for this applicant")
        app = found[0]
        latest: ReviewRow | None = found[1]  # None: no review (the outer join's empty side)
        view: ReviewView | None = (
            review_view(latest, app, await review_task_id(uow.session, app.id, latest.step_id))
            if latest is not None
            else None
        )
        window = None
        if app.state == ApplicationState.REJECTED.value and app.decided_at is not None:
            case = await load_case(uow.session, application_id)
            calendar = case_calendar(uow.session, case.blueprint)
            window = review_window(calendar, app.decided_at, clock.now())
            if view is not None and view.refused_at != app.decided_at:
                view = None  # a review of an earlier refusal, since overturned
        return ApplicantReview(window, view)


async def request_review(
    uow: UnitOfWork,
    clock: Clock,
    applicant: Principal,
    application_id: str,
    reason: str,
    document_id: str | None = None,
) -> ReviewView:
    """The applicant asks that the refusal of their application be looked at again.

    Refused (leaving nothing behind): someone else's application (404), an application that is
    not refused (409), a second request about the same refusal (409, also when two arrive at
    once: the application row is locked and the refusal is unique), a request after the
    window (409 ``review-window-closed``).
    """
    text = check_reason(reason)
    async with uow:
        case = await _own_case(uow, applicant, application_id)
        app = case.app
        if app.state != ApplicationState.REJECTED.value or app.decided_at is None:
            raise Conflict(f"the application is {app.state}: only a refusal can be reviewed")
        if await _latest_for(uow.session, app.id, app.decided_at) is not None:
            raise Conflict("a review of this refusal has already been asked for")
        now = clock.now()
        calendar = case_calendar(uow.session, case.blueprint)
        window = review_window(calendar, app.decided_at, now)
        if not window.open:
            raise ReviewWindowClosed(
                f"a review could be asked for until {window.last_day.isoformat()}"
            )
        found = refused_step(case)
        if found is None or found[0].department is None:
            raise Conflict("no department's step refused this application")
        task, refused_by = found
        department = task.department or ""
        due = calendar.add_working_days(now, REVIEW_ANSWER_WORKING_DAYS)
        remind = calendar.add_working_days(
            now, REVIEW_ANSWER_WORKING_DAYS - REVIEW_REMIND_WORKING_DAYS_BEFORE
        )
        row = ReviewRow(
            id=new_id(),
            application_id=app.id,
            refused_at=app.decided_at,
            step_id=task.step_id,
            department=department,
            refused_by=refused_by,
            refusal_reason=app.outcome_reason,
            state=ReviewState.REQUESTED.value,
            reason=text,
            document_id=document_id,
            requested_by=applicant.subject,
            requested_at=now,
            due_at=due,
            remind_at=remind,
        )
        uow.session.add(row)
        await record_case_change(
            uow.session,
            app,
            now,
            timeline=TimelineNote(
                "review.requested", "You asked for a review", task.step_id, department
            ),
            event=EventNote(
                EventType.REVIEW_REQUESTED,
                {
                    "review_id": row.id,
                    "department": department,
                    "step": task.step_id,
                    "due_on": due.date().isoformat(),
                },
                key=f"review.requested:{row.id}",
            ),
            audit=AuditNote(
                applicant.audit_name,
                AuditAction.REVIEW_REQUESTED,
                department,
                {"review": row.id, "step": task.step_id, "document": document_id},
            ),
        )
        # The staff who may decide it are told (never the officer who refused: ADR 0059).
        await emit(
            uow.session,
            app,
            now,
            EventType.REVIEW_ARRIVED,
            review_staff_data(row, case.graph.steps[task.step_id].role),
            key=f"review.arrived:{row.id}",
        )
        await uow.commit()
        return review_view(row, app, task.id)


async def review_is_open(session: AsyncSession, review_id: str) -> bool:
    """Whether a review still waits for its decision (a message about it planned later than
    its decision is not sent: the staff would be asked to act on a decided review)."""
    state = await session.scalar(select(ReviewRow.state).where(ReviewRow.id == review_id))
    return state == ReviewState.REQUESTED.value


def review_staff_data(row: ReviewRow, step_role: str | None) -> dict[str, object]:
    """What the staff messages about a review need: whom to tell (the department's holders of
    ``roles``, never ``refused_by``) and what to link (the review page)."""
    return {
        "review_id": row.id,
        "department": row.department,
        "step": row.step_id,
        "roles": decider_roles(step_role),
        "refused_by": row.refused_by,
        "due_at": row.due_at.isoformat(),
    }


async def _latest_for(
    session: AsyncSession, application_id: str, refused_at: datetime
) -> ReviewRow | None:
    row: ReviewRow | None = await session.scalar(
        select(ReviewRow).where(
            ReviewRow.application_id == application_id, ReviewRow.refused_at == refused_at
        )
    )
    return row
