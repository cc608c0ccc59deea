"""Application files and their human tasks as a registration front office reads them.

The GovStack Registration facade (``civicloom.govstack.api.registration``, ADR 0047) lists and
reads files and tasks through these functions. Who may see what is decided here, once:

- an applicant (a person) sees their own files;
- a machine client sees the files it submitted (stored with the applicant id
  ``<client subject>/<the client's applicant id>``) and, like an officer, the files in which
  its department runs a step (ADR 0034: a department's own systems read its tasks; the route
  asks for the ``registration:read`` scope);
- an officer or supervisor sees the files in which their department runs a step.

Every single-file read is audited as ``application.read`` (who, which fields, why), and shows
staff only the fields their department is entitled to (``x-owner``/``x-visible-to``, ADR 0034);
a department's machine client reads a file's status and tasks, not its answers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.domain import TaskState
from civicloom.applications.tables import ApplicationRow, TaskRow
from civicloom.audit import AuditAction, AuditRecord, record_read
from civicloom.catalogue import get_blueprint_version
from civicloom.db import UnitOfWork
from civicloom.identity import Role, visible_fields
from civicloom.kernel import Clock, NotFound, Principal

STAFF_ROLES = frozenset({Role.OFFICER.value, Role.SUPERVISOR.value})
HUMAN_KINDS = ("officer_review", "applicant_action")
OPEN_HUMAN = (TaskState.AWAITING_OFFICER.value, TaskState.AWAITING_APPLICANT.value)


def client_applicant_id(client: Principal, applicant_id: str) -> str:
    """How a machine client's applicant is stored: namespaced by the client, so one client's
    ``applicantId`` never names another client's applicant (or a person)."""
    return f"{client.subject}/{applicant_id}"


def _is_machine(reader: Principal) -> bool:
    return Role.MACHINE_CLIENT.value in reader.roles


def _department_reader(reader: Principal) -> str | None:
    """The department whose steps the reader may read, if any."""
    if reader.department and (_is_machine(reader) or STAFF_ROLES & reader.roles):
        return reader.department
    return None


def _visible(reader: Principal) -> ColumnElement[bool]:
    """Files the reader may see (one condition, for lists and single reads alike)."""
    own = ApplicationRow.applicant_id == reader.subject
    conditions: list[ColumnElement[bool]] = [own]
    if _is_machine(reader):
        conditions.append(ApplicationRow.applicant_id.startswith(f"{reader.subject}/"))
    department = _department_reader(reader)
    if department is not None:
        conditions.append(
            select(TaskRow.id)
            .where(TaskRow.application_id == ApplicationRow.id, TaskRow.department == department)
            .exists()
        )
    return or_(*conditions)


@dataclass(frozen=True)
class FileTask:
    """A human task of a file: an officer's review or the applicant's answer."""

    id: str
    application_id: str
    applicant_id: str
    service_id: str
    step_id: str
    kind: str
    department: str | None
    role: str | None
    state: str
    assignee: str | None
    created_at: datetime
    application_state: str


@dataclass(frozen=True)
class RegistrationFile:
    """An application file as the registration facade shows it."""

    id: str
    reference: str
    service_id: str
    applicant_id: str
    state: str
    data: dict[str, Any]
    submitted_at: datetime
    updated_at: datetime
    current_task: FileTask | None


def _task(task: TaskRow, app: ApplicationRow) -> FileTask:
    return FileTask(
        id=task.id,
        application_id=app.id,
        applicant_id=app.applicant_id,
        service_id=app.service_id,
        step_id=task.step_id,
        kind=task.kind,
        department=task.department,
        role=task.role,
        state=task.state,
        assignee=task.assignee,
        created_at=task.activated_at or task.created_at,
        application_state=app.state,
    )


async def _current_tasks(session: AsyncSession, ids: list[str]) -> dict[str, FileTask]:
    """The open human task of each file (the oldest one when several are open)."""
    if not ids:
        return {}
    rows = await session.execute(
        select(TaskRow, ApplicationRow)
        .join(ApplicationRow, ApplicationRow.id == TaskRow.application_id)
        .where(TaskRow.application_id.in_(ids), TaskRow.state.in_(OPEN_HUMAN))
        .order_by(TaskRow.created_at, TaskRow.id)
    )
    out: dict[str, FileTask] = {}
    for task, app in rows:
        out.setdefault(app.id, _task(task, app))
    return out


def _file(app: ApplicationRow, task: FileTask | None) -> RegistrationFile:
    return RegistrationFile(
        id=app.id,
        reference=app.reference,
        service_id=app.service_id,
        applicant_id=app.applicant_id,
        state=app.state,
        data=dict(app.data),
        submitted_at=app.submitted_at,
        updated_at=app.updated_at,
        current_task=task,
    )


async def registration_files(
    uow: UnitOfWork,
    reader: Principal,
    *,
    service_id: str | None = None,
    applicant_id: str | None = None,
    first: int = 0,
    limit: int = 50,
    newest_first: bool = False,
) -> list[RegistrationFile]:
    """The files the reader may see, filtered; an unknown service or applicant lists none."""
    query = select(ApplicationRow).where(_visible(reader))
    if service_id is not None:
        query = query.where(ApplicationRow.service_id == service_id)
    if applicant_id is not None:
        # A caller filters by its own applicants only: a machine client by the ids it gave,
        # a person by their own id. Never "does person X have a file here?" (found by review).
        if _is_machine(reader):
            names = [client_applicant_id(reader, applicant_id)]
        else:
            names = [applicant_id] if applicant_id == reader.subject else []
        query = query.where(ApplicationRow.applicant_id.in_(names))
    order = ApplicationRow.submitted_at.desc() if newest_first else ApplicationRow.submitted_at
    query = query.order_by(order, ApplicationRow.id).offset(first).limit(limit)
    async with uow:
        apps = list(await uow.session.scalars(query))
        tasks = await _current_tasks(uow.session, [a.id for a in apps])
    return [_file(a, tasks.get(a.id)) for a in apps]


async def read_registration_file(
    uow: UnitOfWork, clock: Clock, reader: Principal, file_id: str
) -> RegistrationFile:
    """One file the reader may see (else NotFound, whether it exists or not); audited."""
    async with uow:
        app = await uow.session.scalar(
            select(ApplicationRow).where(ApplicationRow.id == file_id, _visible(reader))
        )
        if app is None:
            raise NotFound(f"no application file {file_id!r} for this caller")
        tasks = await _current_tasks(uow.session, [app.id])
        own = app.applicant_id == reader.subject or app.applicant_id.startswith(
            f"{reader.subject}/"
        )
        # Staff read only the fields their department is entitled to (ADR 0034), a
        # department's system none of them: the applicant reads their whole file.
        pinned = await get_blueprint_version(uow.session, app.blueprint_version_id)
        data = (
            visible_fields(reader, pinned.blueprint, dict(app.data), is_applicant=own)
            if pinned is not None
            else (dict(app.data) if own else {})
        )
        record_read(
            uow.session,
            AuditRecord(
                actor=reader.audit_name,
                action=AuditAction.APPLICATION_READ,
                subject_type="application",
                subject_id=app.id,
                occurred_at=clock.now(),
                department=reader.department,
                details={"channel": "govstack-registration"},
                purpose="applicant views own application"
                if own
                else "a department reads an application file",
                fields=tuple(sorted(data)),
            ),
        )
        found = replace(_file(app, tasks.get(app.id)), data=data)
        await uow.commit()
    return found


def _task_visible(reader: Principal) -> ColumnElement[bool]:
    """Tasks the reader may see: its department's human tasks, and the applicant's waiting
    tasks on its own files."""
    conditions: list[ColumnElement[bool]] = []
    department = _department_reader(reader)
    if department is not None:
        conditions.append(TaskRow.department == department)
    own = [ApplicationRow.applicant_id == reader.subject]
    if _is_machine(reader):
        own.append(ApplicationRow.applicant_id.startswith(f"{reader.subject}/"))
    conditions.append(and_(or_(*own), TaskRow.state == TaskState.AWAITING_APPLICANT.value))
    return or_(*conditions) if conditions else false()


async def registration_tasks(
    uow: UnitOfWork,
    reader: Principal,
    *,
    file_id: str | None = None,
    assignee: str | None = None,
    first: int = 0,
    limit: int = 50,
    newest_first: bool = False,
) -> list[FileTask]:
    """Open human tasks the reader may see, filtered by file and assignee."""
    query = (
        select(TaskRow, ApplicationRow)
        .join(ApplicationRow, ApplicationRow.id == TaskRow.application_id)
        .where(TaskRow.state.in_(OPEN_HUMAN), TaskRow.kind.in_(HUMAN_KINDS))
        .where(_task_visible(reader))
    )
    if file_id is not None:
        query = query.where(TaskRow.application_id == file_id)
    if assignee is not None:
        query = query.where(TaskRow.assignee == assignee)
    order = TaskRow.created_at.desc() if newest_first else TaskRow.created_at
    query = query.order_by(order, TaskRow.id).offset(first).limit(limit)
    async with uow:
        rows = (await uow.session.execute(query)).all()
    return [_task(task, app) for task, app in rows]


async def find_registration_task(uow: UnitOfWork, reader: Principal, task_id: str) -> FileTask:
    """A human task the reader may see (open or finished); else NotFound."""
    query = (
        select(TaskRow, ApplicationRow)
        .join(ApplicationRow, ApplicationRow.id == TaskRow.application_id)
        .where(TaskRow.id == task_id, TaskRow.kind.in_(HUMAN_KINDS))
        .where(_task_visible(reader))
    )
    async with uow:
        row = (await uow.session.execute(query)).first()
    if row is None:
        raise NotFound(f"no task {task_id!r} for this caller")
    return _task(row[0], row[1])
