"""Read models of the officer and supervisor pages: queue, task page, attention list, workload.

Reads that reveal application data go through ``civicloom.applications.read_officer_task``
(audited, limited to the department's fields); these queries return task metadata only and run
a fixed number of statements whatever the queue's size (tests hold query-count baselines).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select

from civicloom.applications import (
    ApplicationHeader,
    AssigneeLoad,
    CaseEvent,
    DepartmentQueueQuery,
    Forbidden,
    TaskView,
    TimelineQuery,
    department_queue,
    read_officer_task,
    tasks_needing_attention,
    timeline_page,
    workload_by_assignee,
)
from civicloom.audit import AuditRecord, subject_history
from civicloom.backoffice.domain import (
    DUE_SOON,
    QueueFilter,
    is_department_staff,
    visible_document_types,
)
from civicloom.backoffice.tables import CaseNoteRow, InspectionAppointmentRow
from civicloom.catalogue import Blueprint, StepKind, get_blueprint_version, list_current_blueprints
from civicloom.db import UnitOfWork
from civicloom.departments import department_names
from civicloom.documents import DocumentRef, application_documents
from civicloom.identity import staff_names
from civicloom.kernel import Clock, LocalisedText, Principal, SignedCursors
from civicloom.rules import RecordedDecision, list_decisions


@dataclass(frozen=True)
class QueueRow:
    """One line of the work queue."""

    task: TaskView
    application: ApplicationHeader

    @classmethod
    def of(cls, task: TaskView) -> QueueRow:
        """The line of a task."""
        return cls(task, task.application)


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue, with what the pager needs: how many tasks match (up to
    ``QUEUE_COUNT_CAP``; ``capped``: at least that many) and the neighbours' cursors."""

    rows: list[QueueRow]
    total: int
    capped: bool = False
    next: str | None = None
    previous: str | None = None


def _require_queue(principal: Principal) -> str:
    if principal.department is None or not is_department_staff(principal, principal.department):
        raise Forbidden("only officers and supervisors have a work queue")
    return principal.department


def _queue_query(
    principal: Principal, flt: QueueFilter, cursors: SignedCursors
) -> DepartmentQueueQuery:
    query = DepartmentQueueQuery(
        department=_require_queue(principal),
        service=flt.service,
        state=flt.state,
        assignee=principal.subject if flt.mine else None,
        sla=flt.sla.value if flt.sla is not None else None,
        due_soon=DUE_SOON,
        limit=flt.per_page,
    )
    if flt.cursor is not None:
        query = replace(query, position=cursors.decode(flt.cursor, query.scope))
    return query


async def _page_of(
    uow: UnitOfWork, clock: Clock, query: DepartmentQueueQuery, cursors: SignedCursors
) -> QueuePage:
    found = await department_queue(uow.session, query, clock.now())
    return QueuePage(
        rows=[QueueRow.of(task) for task in found.tasks],
        total=found.total,
        capped=found.capped,
        next=cursors.encode(found.next, query.scope) if found.next else None,
        previous=cursors.encode(found.previous, query.scope) if found.previous else None,
    )


async def work_queue(
    uow: UnitOfWork, clock: Clock, principal: Principal, flt: QueueFilter, cursors: SignedCursors
) -> QueuePage:
    """The department's open human tasks, soonest due first, keyset-paged: two statements per
    page. A cursor is bound to the department and the filters (``SignedCursors``): one made for
    another queue is refused (400 naming ``cursor``), never read as a position in this one."""
    query = _queue_query(principal, flt, cursors)
    async with uow:
        return await _page_of(uow, clock, query, cursors)


# The step kinds that put a task in a department's queue (``awaiting_officer`` and
# ``awaiting_applicant``): what the queue can hold, read from the catalogue.
HUMAN_STEP_KINDS = frozenset({StepKind.OFFICER_REVIEW.value, StepKind.APPLICANT_ACTION.value})


def queue_services(blueprints: Iterable[Blueprint], department: str) -> list[str]:
    """The services whose blueprint gives ``department`` a human step (an officer review or an
    applicant action of its own), by id: what its queue's service filter offers. Read from the
    services' current versions, never from tasks, so it costs the same at any volume (ADR 0076);
    a service with nothing open is listed and shows an empty queue when chosen."""
    return sorted(
        {
            b.id
            for b in blueprints
            if any(s.department == department and str(s.kind) in HUMAN_STEP_KINDS for s in b.steps)
        }
    )


async def services_in_queue(uow: UnitOfWork, principal: Principal) -> list[str]:
    """The services the department's queue filter offers (one statement, the catalogue's)."""
    department = _require_queue(principal)
    async with uow:
        current = await list_current_blueprints(uow.session)
    return queue_services((p.blueprint for p in current), department)


@dataclass(frozen=True)
class QueueScreen:
    """What the work queue page shows: a page of the queue, the services its filter offers and
    the services' current versions (for their and their steps' titles). ``outside``: the chosen
    service gives the department no step, so nothing was read of the queue."""

    page: QueuePage
    services: list[str]
    current: list[Blueprint]
    outside: bool = False


async def queue_screen(
    uow: UnitOfWork, clock: Clock, principal: Principal, flt: QueueFilter, cursors: SignedCursors
) -> QueueScreen:
    """The work queue page's reads, in one transaction and a fixed number of statements
    whatever the volume (ADR 0076): the services' current versions (the filter and every title),
    then the capped count and the page (two bounded walks of the open-queue index). A service
    the filter does not offer is still read (the department condition keeps every other
    department's tasks out): the department may hold open tasks of a version it had a step in,
    or of a service no longer published, and they must stay reachable; found empty, the page
    says the department has no step in it (attack review of ADR 0076)."""
    query = _queue_query(principal, flt, cursors)
    async with uow:
        current = [p.blueprint for p in await list_current_blueprints(uow.session)]
        services = queue_services(current, query.department)
        page = await _page_of(uow, clock, query, cursors)
    outside = query.service is not None and query.service not in services and not page.rows
    return QueueScreen(page, services, current, outside=outside)


# Timeline entries of other departments a task page still shows: where their steps stand,
# in words the engine wrote (no officer's free text, no payment amounts, nothing internal).
PROGRESS_EVENTS = frozenset(
    {"step.review", "step.waiting", "step.completed", "step.delayed", "step.skipped"}
)


@dataclass
class TaskPage:
    """Everything the task page shows, limited to the task's department: its fields, the
    document types shared with it, its decision models' outcomes, its notes, its own and the
    platform's timeline entries (other departments' only as engine-written progress) and the
    audit history of its own and platform actions."""

    task: TaskView
    application: ApplicationHeader
    data: dict[str, Any]
    blueprint: Blueprint | None
    decisions: list[RecordedDecision] = field(default_factory=list)
    documents: list[DocumentRef] = field(default_factory=list)
    notes: list[CaseNoteRow] = field(default_factory=list)
    inspections: list[InspectionAppointmentRow] = field(default_factory=list)
    # a page of the timeline, newest first, and the signed cursors of its neighbours (issue 23)
    timeline: list[CaseEvent] = field(default_factory=list)
    timeline_older: str | None = None
    timeline_newer: str | None = None
    history: list[AuditRecord] = field(default_factory=list)
    # who applied, in what capacity, verified against which register entry (ADR 0041)
    acting_for: dict[str, Any] | None = None
    # applied at a service counter by an officer on the applicant's behalf (ADR 0044)
    on_behalf: dict[str, Any] | None = None
    # the staff named on the page (actors, holder), by subject: their directory names
    people: dict[str, str] = field(default_factory=dict)
    departments: dict[str, LocalisedText] = field(default_factory=dict)
    # what the department asked the applicant and what they answered, oldest first
    exchanges: list[Exchange] = field(default_factory=list)


@dataclass(frozen=True)
class Exchange:
    """One question to the applicant or one answer from them, on the task page."""

    at: str  # ISO instant, as the engine recorded it
    kind: str  # "request" or "answer"
    text: str
    by: str | None = None  # the officer who asked


def exchanges_of(output: dict[str, Any] | None) -> list[Exchange]:
    """The task's information requests and the applicant's answers, in time order."""
    found = [
        Exchange(str(r.get("at", "")), "request", str(r.get("message", "")), r.get("by"))
        for r in (output or {}).get("requests", [])
        if isinstance(r, dict)
    ] + [
        Exchange(str(a.get("at", "")), "answer", str(a.get("answer", "")))
        for a in (output or {}).get("answers", [])
        if isinstance(a, dict)
    ]
    return sorted(found, key=lambda e: e.at)


def case_history(entries: list[AuditRecord], department: str | None) -> list[AuditRecord]:
    """What happened to a case, as the task page shows it: the department's own and the
    platform's entries in time order, without the reads of personal data (every page view
    is one; they are in the data-use log and the auditor's search, not a case's history)."""
    kept = [
        e for e in entries if e.department in (None, department) and not e.action.personal_data_read
    ]
    return sorted(kept, key=lambda e: e.occurred_at)


def _acting_for(entries: list[AuditRecord], key: str = "acting_for") -> dict[str, Any] | None:
    submitted = next((e for e in entries if e.action == "application.submitted"), None)
    found = (submitted.details or {}).get(key) if submitted else None
    return dict(found) if isinstance(found, dict) else None


def task_timeline(application_id: str, department: str | None) -> TimelineQuery:
    """The timeline a task page shows: its department's and the platform's entries, other
    departments' only as engine-written progress the applicant sees too (a step of no
    department: the platform's entries and that progress, never every entry)."""
    return TimelineQuery(application_id, department=department or "", shared_events=PROGRESS_EVENTS)


async def task_page(
    uow_factory: Any,
    clock: Clock,
    principal: Principal,
    task_id: str,
    cursors: SignedCursors | None = None,
    cursor: str | None = None,
) -> TaskPage:
    """The task page: the audited, department-limited read first, then its context, with the
    newest page of the timeline or the one ``cursor`` names: a cursor of another application's
    or another department's view of it, or altered, is InvalidCursor (checked only once the
    read was allowed, so another department's officer gets what they get without one)."""
    task, data = await read_officer_task(uow_factory(), clock, principal, task_id)
    app = task.application
    department = task.department
    timeline_query = task_timeline(app.id, department).from_cursor(cursors, cursor)
    async with uow_factory() as uow:
        session = uow.session
        published = await get_blueprint_version(session, app.blueprint_version_id)
        blueprint = published.blueprint if published else None
        decisions = [
            d
            for d in await list_decisions(session, app.id)
            if d.model.split("/", 1)[0] == department
        ]
        types = visible_document_types(blueprint, department)
        documents = await application_documents(session, app.id, types)
        notes = list(
            await session.scalars(
                select(CaseNoteRow)
                .where(CaseNoteRow.application_id == app.id, CaseNoteRow.department == department)
                .order_by(CaseNoteRow.created_at)
            )
        )
        inspections = list(
            await session.scalars(
                select(InspectionAppointmentRow)
                .where(InspectionAppointmentRow.task_id == task.id)
                .order_by(InspectionAppointmentRow.created_at)
            )
        )
        timeline = await timeline_page(session, timeline_query)
        entries = list(await subject_history(session, "application", app.id, without_reads=True))
        history = case_history(entries, department)
        actors = [e.actor.partition(":")[2] for e in history]
        people = await staff_names(session, [*actors, task.assignee or ""])
        departments = await department_names(session)
    return TaskPage(
        task=task,
        application=app,
        data=data,
        blueprint=blueprint,
        decisions=decisions,
        documents=documents,
        notes=notes,
        inspections=inspections,
        timeline=timeline.entries,
        timeline_older=cursors.encode(timeline.older, timeline_query.scope)
        if cursors and timeline.older
        else None,
        timeline_newer=cursors.encode(timeline.newer, timeline_query.scope)
        if cursors and timeline.newer
        else None,
        history=history,
        acting_for=_acting_for(entries),
        on_behalf=_acting_for(entries, "on_behalf_of"),
        people=people,
        departments=departments,
        exchanges=exchanges_of(task.output),
    )


async def attention_tasks(uow: UnitOfWork, clock: Clock, principal: Principal) -> list[QueueRow]:
    """A supervisor's list: the department's escalated or breached open tasks, oldest due first."""
    department = _require_queue(principal)
    if "supervisor" not in principal.roles:
        raise Forbidden("only supervisors see escalations")
    async with uow:
        tasks = await tasks_needing_attention(uow.session, department, clock.now())
    return [QueueRow.of(task) for task in tasks]


async def team_workload(uow: UnitOfWork, clock: Clock, principal: Principal) -> list[AssigneeLoad]:
    """Open tasks per assignee in the supervisor's department (one grouped statement)."""
    department = _require_queue(principal)
    async with uow:
        return await workload_by_assignee(uow.session, department, clock.now())
