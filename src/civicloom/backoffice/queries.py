"""Read models of the officer and supervisor pages: queue, task page, attention list, workload.

Reads that reveal application data go through ``civicloom.applications.read_officer_task``
(audited, limited to the department's fields); these queries return task metadata only and run
a fixed number of statements whatever the queue's size (tests hold query-count baselines).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, or_, select

from civicloom.applications import (
    ApplicationRow,
    Forbidden,
    TaskRow,
    TaskState,
    TimelineRow,
    read_officer_task,
)
from civicloom.audit import AuditEntryRow
from civicloom.backoffice.domain import (
    DUE_SOON,
    QueueFilter,
    SlaState,
    is_department_staff,
    visible_document_types,
)
from civicloom.backoffice.tables import CaseNoteRow, InspectionAppointmentRow
from civicloom.catalogue import Blueprint, get_blueprint_version
from civicloom.db import UnitOfWork
from civicloom.documents import DocumentRow
from civicloom.kernel import Clock, Principal
from civicloom.rules import RecordedDecision, list_decisions

OPEN_HUMAN_STATES = (TaskState.AWAITING_OFFICER.value, TaskState.AWAITING_APPLICANT.value)


@dataclass(frozen=True)
class QueueRow:
    """One line of the work queue."""

    task: TaskRow
    application: ApplicationRow


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue, with what the pager needs."""

    rows: list[QueueRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least one)."""
        return max(1, -(-self.total // self.per_page))


def _require_queue(principal: Principal) -> str:
    if principal.department is None or not is_department_staff(principal, principal.department):
        raise Forbidden("only officers and supervisors have a work queue")
    return principal.department


def _queue_query(
    department: str, flt: QueueFilter, now: datetime, who: str
) -> Select[TaskRow, ApplicationRow]:
    query = (
        select(TaskRow, ApplicationRow)
        .join(ApplicationRow, ApplicationRow.id == TaskRow.application_id)
        .where(TaskRow.department == department, TaskRow.state.in_(OPEN_HUMAN_STATES))
    )
    if flt.service:
        query = query.where(ApplicationRow.service_id == flt.service)
    if flt.state:
        query = query.where(TaskRow.state == flt.state)
    if flt.mine:
        query = query.where(TaskRow.assignee == who)
    if flt.sla is SlaState.BREACHED:
        query = query.where(TaskRow.sla_due_at < now)
    elif flt.sla is SlaState.DUE_SOON:
        query = query.where(TaskRow.sla_due_at >= now, TaskRow.sla_due_at <= now + DUE_SOON)
    elif flt.sla is SlaState.ON_TRACK:
        query = query.where(or_(TaskRow.sla_due_at.is_(None), TaskRow.sla_due_at > now + DUE_SOON))
    return query


async def work_queue(
    uow: UnitOfWork, clock: Clock, principal: Principal, flt: QueueFilter
) -> QueuePage:
    """The department's open human tasks, soonest due first: two statements per page."""
    department = _require_queue(principal)
    now = clock.now()
    base = _queue_query(department, flt, now, principal.subject)
    async with uow:
        total = int(
            await uow.session.scalar(select(func.count()).select_from(base.subquery())) or 0
        )
        result = await uow.session.execute(
            base.order_by(TaskRow.sla_due_at.is_(None), TaskRow.sla_due_at, TaskRow.id)
            .limit(flt.per_page)
            .offset((flt.page - 1) * flt.per_page)
        )
        rows = [QueueRow(task, app) for task, app in result]
    return QueuePage(rows=rows, total=total, page=flt.page, per_page=flt.per_page)


async def services_in_queue(uow: UnitOfWork, principal: Principal) -> list[str]:
    """Service ids with open tasks in the department (for the filter)."""
    department = _require_queue(principal)
    async with uow:
        rows = await uow.session.scalars(
            select(ApplicationRow.service_id)
            .join(TaskRow, TaskRow.application_id == ApplicationRow.id)
            .where(TaskRow.department == department)
            .distinct()
            .order_by(ApplicationRow.service_id)
        )
        return list(rows)


@dataclass
class TaskPage:
    """Everything the task page shows; ``data`` holds only the department's fields."""

    task: TaskRow
    application: ApplicationRow
    data: dict[str, Any]
    blueprint: Blueprint | None
    decisions: list[RecordedDecision] = field(default_factory=list)
    documents: list[DocumentRow] = field(default_factory=list)
    notes: list[CaseNoteRow] = field(default_factory=list)
    inspections: list[InspectionAppointmentRow] = field(default_factory=list)
    timeline: list[TimelineRow] = field(default_factory=list)
    history: list[AuditEntryRow] = field(default_factory=list)


async def task_page(uow_factory: Any, clock: Clock, principal: Principal, task_id: str) -> TaskPage:
    """The task page: the audited, department-limited read first, then its context."""
    task, app, data = await read_officer_task(uow_factory(), clock, principal, task_id)
    department = task.department
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
        documents = list(
            await session.scalars(
                select(DocumentRow)
                .where(
                    DocumentRow.application_id == app.id,
                    DocumentRow.purged_at.is_(None),
                    DocumentRow.document_type.in_(sorted(types)),
                )
                .order_by(DocumentRow.uploaded_at)
            )
        )
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
        timeline = list(
            await session.scalars(
                select(TimelineRow)
                .where(TimelineRow.application_id == app.id)
                .order_by(TimelineRow.at, TimelineRow.id)
            )
        )
        history = list(
            await session.scalars(
                select(AuditEntryRow)
                .where(
                    AuditEntryRow.subject_type == "application",
                    AuditEntryRow.subject_id == app.id,
                )
                .order_by(AuditEntryRow.position)
            )
        )
    return TaskPage(
        task=task,
        application=app,
        data=data,
        blueprint=blueprint,
        decisions=decisions,
        documents=documents,
        notes=notes,
        inspections=inspections,
        timeline=timeline,
        history=history,
    )


async def attention_tasks(uow: UnitOfWork, clock: Clock, principal: Principal) -> list[QueueRow]:
    """A supervisor's list: the department's escalated or breached open tasks, oldest due first."""
    department = _require_queue(principal)
    if "supervisor" not in principal.roles:
        raise Forbidden("only supervisors see escalations")
    now = clock.now()
    async with uow:
        result = await uow.session.execute(
            select(TaskRow, ApplicationRow)
            .join(ApplicationRow, ApplicationRow.id == TaskRow.application_id)
            .where(
                TaskRow.department == department,
                TaskRow.state.in_(OPEN_HUMAN_STATES),
                or_(TaskRow.escalated.is_(True), TaskRow.sla_due_at < now),
            )
            .order_by(TaskRow.sla_due_at, TaskRow.id)
            .limit(200)
        )
        return [QueueRow(task, app) for task, app in result]


@dataclass(frozen=True)
class Workload:
    """Open tasks held by one officer (``None``: nobody has claimed them)."""

    assignee: str | None
    open: int
    breached: int


async def team_workload(uow: UnitOfWork, clock: Clock, principal: Principal) -> list[Workload]:
    """Open tasks per assignee in the supervisor's department (one grouped statement)."""
    department = _require_queue(principal)
    now = clock.now()
    breached = func.sum(case((TaskRow.sla_due_at < now, 1), else_=0))
    async with uow:
        rows = await uow.session.execute(
            select(TaskRow.assignee, func.count(), breached)
            .where(TaskRow.department == department, TaskRow.state.in_(OPEN_HUMAN_STATES))
            .group_by(TaskRow.assignee)
            .order_by(TaskRow.assignee)
        )
        return [Workload(a, int(n), int(b or 0)) for a, n, b in rows]
