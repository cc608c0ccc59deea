"""Back-office use cases: internal notes, planned inspections and officers' document reads.

Each opens the unit of work, checks the officer's department, changes state, appends its audit
entry (and timeline entry / outbox event where the applicant is concerned) and commits once.
Every other action (claim, decide, request information, assign, re-drive) is the case engine's
own use case in ``civicloom.applications``.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta

from civicloom.applications import (
    ApplicationRecord,
    AuditNote,
    EventNote,
    TaskState,
    TaskView,
    TimelineNote,
    check_may_work,
    find_application,
    find_task,
    read_review,
    record_case_change,
)
from civicloom.audit import AuditAction
from civicloom.backoffice.domain import (
    NOTE_MAX_CHARS,
    InspectionPlan,
    is_department_staff,
    step_role,
    visible_document_types,
)
from civicloom.backoffice.tables import CaseNoteRow, InspectionAppointmentRow
from civicloom.catalogue import get_blueprint_version
from civicloom.db import UnitOfWork
from civicloom.documents import (
    REVIEW_EVIDENCE_TYPE,
    DocumentRef,
    DocumentsRuntime,
    open_document,
)
from civicloom.kernel import (
    Clock,
    Conflict,
    FieldError,
    NotFound,
    Principal,
    ValidationFailed,
    new_id,
)
from civicloom.outbox import EventType

INSPECTION_HORIZON = timedelta(days=365)
EVENT_SOURCE = "urn:civicloom:backoffice"


async def _staff_task(
    uow: UnitOfWork, principal: Principal, task_id: str
) -> tuple[TaskView, ApplicationRecord]:
    """The task and its application, or NotFound for anyone outside the task's department."""
    task = await find_task(uow.session, task_id)
    if task is None or not is_department_staff(principal, task.department):
        raise NotFound(f"no task {task_id!r} in your department")
    app = await find_application(uow.session, task.application_id)
    assert app is not None, "a task always belongs to an application"
    return task, app


def _check_note(body: str, field: str) -> str:
    text = body.strip()
    if not text:
        raise ValidationFailed([FieldError(field, "required", "write the note")])
    if len(text) > NOTE_MAX_CHARS:
        raise ValidationFailed(
            [FieldError(field, "max-length", f"keep it under {NOTE_MAX_CHARS} characters")]
        )
    return text


async def add_case_note(
    uow: UnitOfWork, clock: Clock, principal: Principal, task_id: str, body: str
) -> CaseNoteRow:
    """Add an internal note to a task (the department's staff read it; the applicant never)."""
    text = _check_note(body, "note")
    async with uow:
        task, app = await _staff_task(uow, principal, task_id)
        now = clock.now()
        note = CaseNoteRow(
            id=new_id(),
            application_id=app.id,
            task_id=task.id,
            department=task.department or "",
            author=principal.subject,
            author_name=principal.display_name,
            body=text,
            created_at=now,
        )
        uow.session.add(note)
        await record_case_change(
            uow.session,
            app,
            now,
            audit=AuditNote(
                principal.audit_name,
                AuditAction.NOTE_ADDED,
                task.department,
                {"task": task.id, "note": note.id},
            ),
        )
        await uow.commit()
    return note


async def schedule_inspection(
    uow: UnitOfWork, clock: Clock, principal: Principal, task_id: str, plan: InspectionPlan
) -> InspectionAppointmentRow:
    """Plan a premises inspection for a review task; the applicant sees the date on the timeline."""
    note = _check_note(plan.note, "inspection_note") if plan.note and plan.note.strip() else None
    async with uow:
        task, app = await _staff_task(uow, principal, task_id)
        now = clock.now()
        today = now.date()
        if plan.planned_on < today:
            raise ValidationFailed(
                [FieldError("planned_on", "not-in-past", "choose today or a later date")]
            )
        if plan.planned_on > today + INSPECTION_HORIZON:
            raise ValidationFailed(
                [FieldError("planned_on", "within-a-year", "choose a date within a year")]
            )
        if task.state != TaskState.AWAITING_OFFICER.value:
            raise Conflict(f"the task is {task.state}, not awaiting an officer")
        published = await get_blueprint_version(uow.session, app.blueprint_version_id)
        blueprint = published.blueprint if published else None
        check_may_work(principal, step_role(blueprint, task.step_id), task.assignee)
        appointment = InspectionAppointmentRow(
            id=new_id(),
            application_id=app.id,
            task_id=task.id,
            department=task.department or "",
            planned_on=plan.planned_on,
            inspector=principal.subject,
            note=note,
            created_at=now,
        )
        uow.session.add(appointment)
        planned_on = plan.planned_on.isoformat()
        await record_case_change(
            uow.session,
            app,
            now,
            timeline=TimelineNote(
                "inspection.scheduled",
                f"An inspection of the premises is planned for {planned_on}",
                step_id=task.step_id,
                department=task.department,
            ),
            event=EventNote(
                EventType.INSPECTION_SCHEDULED,
                {"task_id": task.id, "department": task.department, "planned_on": planned_on},
                key=f"inspection.scheduled:{appointment.id}",
                source=EVENT_SOURCE,
            ),
            audit=AuditNote(
                principal.audit_name,
                AuditAction.INSPECTION_SCHEDULED,
                task.department,
                {"task": task.id, "appointment": appointment.id, "planned_on": planned_on},
            ),
        )
        await uow.commit()
    return appointment


async def read_task_document(
    uow: UnitOfWork,
    runtime: DocumentsRuntime,
    clock: Clock,
    principal: Principal,
    task_id: str,
    document_id: str,
) -> tuple[DocumentRef, bytes]:
    """An officer opens a document of the task's application, if the blueprint shares that
    document type with the department; the read is audited (who, which document, why)."""
    async with uow:
        task, app = await _staff_task(uow, principal, task_id)
        published = await get_blueprint_version(uow.session, app.blueprint_version_id)
        blueprint = published.blueprint if published else None
        allowed = visible_document_types(blueprint, task.department)
        opened = await _open_and_audit(
            uow,
            runtime,
            clock.now(),
            principal,
            app,
            document_id,
            allowed,
            task.department,
            {"task": task.id},
            f"review {task.step_id}",
            f"no document {document_id!r} for this task",
        )
        await uow.commit()
    return opened


async def read_review_document(
    uow: UnitOfWork,
    runtime: DocumentsRuntime,
    clock: Clock,
    principal: Principal,
    review_id: str,
) -> tuple[DocumentRef, bytes]:
    """A reviewer opens the document the applicant added to a request for a review (ADR 0059);
    only the reviewing department's staff, only that document; the read is audited."""
    review = await read_review(uow, principal, review_id)
    if review.document_id is None:
        raise NotFound(f"review {review_id!r} has no document")
    async with uow:
        app = await find_application(uow.session, review.application_id)
        assert app is not None
        opened = await _open_and_audit(
            uow,
            runtime,
            clock.now(),
            principal,
            app,
            review.document_id,
            {REVIEW_EVIDENCE_TYPE},
            review.department,
            {"review": review.id},
            f"review {review.step_id}",
            f"no document for review {review_id!r}",
        )
        await uow.commit()
    return opened


async def _open_and_audit(
    uow: UnitOfWork,
    runtime: DocumentsRuntime,
    now: datetime,
    principal: Principal,
    app: ApplicationRecord,
    document_id: str,
    allowed: Collection[str],
    department: str | None,
    context: dict[str, str],
    purpose: str,
    missing: str,
) -> tuple[DocumentRef, bytes]:
    """An officer opens one document of an application whose type ``allowed`` holds (404
    ``missing`` otherwise); the read is audited in the open unit of work (the caller commits)."""
    found = await open_document(uow.session, runtime.store, app.id, document_id, allowed)
    if found is None:
        raise NotFound(missing)
    row, content = found
    await record_case_change(
        uow.session,
        app,
        now,
        audit=AuditNote(
            principal.audit_name,
            AuditAction.DOCUMENT_READ,
            department,
            {"document_id": row.id, **context},
            purpose=purpose,
            fields=(f"document:{row.document_type}",),
        ),
    )
    return row, content


def default_inspection_date(today: date) -> date:
    """A suggestion for the date field: a week from today."""
    return today + timedelta(days=7)
