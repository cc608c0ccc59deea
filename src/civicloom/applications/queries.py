"""Read queries other modules ask of applications, answered with views (ADR 0027).

Each function runs in the caller's session (its unit of work) and sends a fixed number of
statements whatever the number of rows, so the pages built on them keep their query-count
baselines.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Date,
    Select,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from civicloom.applications.domain import FINAL_APPLICATION_STATES, TaskState
from civicloom.applications.tables import ApplicationRow, DeadLetterRow, TaskRow, TimelineRow
from civicloom.applications.views import (
    QUEUE_COUNT_CAP,
    ApplicantApplication,
    ApplicationFacts,
    ApplicationHeader,
    ApplicationRecord,
    AssigneeLoad,
    CaseEvent,
    CaseFigures,
    DeadLetterView,
    DepartmentQueueQuery,
    QueueFigure,
    QueueSlice,
    ServiceCaseFacts,
    StepFacts,
    TaskView,
    UsageRecord,
)
from civicloom.catalogue import StepKind, version_titles
from civicloom.kernel.errors import FieldError
from civicloom.kernel.keyset import Cursor, InvalidCursor, Page, Position, SignedCursors

OPEN_HUMAN_STATES = (TaskState.AWAITING_OFFICER.value, TaskState.AWAITING_APPLICANT.value)
QUEUED_STATES = ("ready", "running", "awaiting_external", "awaiting_officer", "awaiting_applicant")
OPEN_STATES = (*QUEUED_STATES, "waiting", "failed")


def header_of(app: ApplicationRow) -> ApplicationHeader:
    """The application's header (no form data)."""
    return ApplicationHeader(
        id=app.id,
        reference=app.reference,
        service_id=app.service_id,
        state=app.state,
        submitted_at=app.submitted_at,
        blueprint_version_id=app.blueprint_version_id,
        deadline_at=app.deadline_at,
        clock_stopped_at=app.clock_stopped_at,
    )


def task_view(task: TaskRow, app: ApplicationRow) -> TaskView:
    """A task row and its application, as a view."""
    return TaskView(
        id=task.id,
        application=header_of(app),
        step_id=task.step_id,
        kind=task.kind,
        department=task.department,
        role=task.role,
        state=task.state,
        assignee=task.assignee,
        escalated=bool(task.escalated),
        sla_due_at=task.sla_due_at,
        attempts=task.attempts,
        input=dict(task.input) if task.input is not None else None,
        output=dict(task.output) if task.output is not None else None,
        idempotency_key=task.idempotency_key,
        escalated_to=task.escalated_to,
        activated_at=task.activated_at,
        completed_at=task.completed_at,
    )


def record_of(app: ApplicationRow) -> ApplicationRecord:
    """An application row as the view other modules read."""
    return ApplicationRecord(
        id=app.id,
        reference=app.reference,
        service_id=app.service_id,
        applicant_id=app.applicant_id,
        state=app.state,
        blueprint_version_id=app.blueprint_version_id,
        blueprint_version=app.blueprint_version,
        data=dict(app.data or {}),
        decisions=dict(app.decisions or {}),
        submitted_at=app.submitted_at,
        updated_at=app.updated_at,
        deadline_at=app.deadline_at,
        decided_at=app.decided_at,
    )


def dead_letter_view(row: DeadLetterRow) -> DeadLetterView:
    """A dead-letter row as a view."""
    return DeadLetterView(
        id=row.id,
        application_id=row.application_id,
        task_id=row.task_id,
        department=row.department,
        capability=row.capability,
        attempts=row.attempts,
        error=row.error,
        payload_summary=dict(row.payload_summary or {}),
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        resolution=row.resolution,
        resolved_by=row.resolved_by,
    )


async def find_application(session: AsyncSession, application_id: str) -> ApplicationRecord | None:
    """An application by id (no access check: the caller decides who may see what)."""
    row = await session.get(ApplicationRow, application_id)
    return None if row is None else record_of(row)


async def find_application_by_reference(
    session: AsyncSession, reference: str
) -> ApplicationRecord | None:
    """An application by its public reference."""
    row = await session.scalar(select(ApplicationRow).where(ApplicationRow.reference == reference))
    return None if row is None else record_of(row)


async def find_task(session: AsyncSession, task_id: str) -> TaskView | None:
    """A task and its application's header, or None (one statement)."""
    result = await session.execute(
        select(TaskRow, ApplicationRow)
        .join(ApplicationRow, ApplicationRow.id == TaskRow.application_id)
        .where(TaskRow.id == task_id)
    )
    found = result.first()
    return None if found is None else task_view(*found)


async def find_waiting_task(
    session: AsyncSession, application_id: str, kind: str
) -> TaskView | None:
    """The application's step of this kind that waits for an answer from outside, if any."""
    result = await session.execute(
        select(TaskRow, ApplicationRow)
        .join(ApplicationRow, ApplicationRow.id == TaskRow.application_id)
        .where(
            TaskRow.application_id == application_id,
            TaskRow.kind == kind,
            TaskRow.state == TaskState.AWAITING_EXTERNAL.value,
        )
    )
    found = result.first()
    return None if found is None else task_view(*found)


async def application_ids_of(session: AsyncSession, applicant_id: str) -> list[str]:
    """Ids of every application of one applicant."""
    return list(
        await session.scalars(
            select(ApplicationRow.id).where(ApplicationRow.applicant_id == applicant_id)
        )
    )


async def resolve_application_id(session: AsyncSession, id_or_reference: str) -> str | None:
    """The id of the application with this id or reference, if any."""
    return await session.scalar(
        select(ApplicationRow.id).where(
            or_(ApplicationRow.id == id_or_reference, ApplicationRow.reference == id_or_reference)
        )
    )


async def references_of(session: AsyncSession, application_ids: Collection[str]) -> dict[str, str]:
    """Application id -> reference, for the ids that exist (one statement)."""
    if not application_ids:
        return {}
    result = await session.execute(
        select(ApplicationRow.id, ApplicationRow.reference).where(
            ApplicationRow.id.in_(sorted(application_ids))
        )
    )
    return {str(app_id): str(reference) for app_id, reference in result}


async def running_on_version(
    session: AsyncSession, blueprint_version_id: str, limit: int = 50
) -> tuple[int, list[tuple[str, str]]]:
    """How many applications still run on a blueprint version, and the references and states
    of the newest ``limit`` of them (a change request's reviewers see who keeps the version)."""
    running = (
        ApplicationRow.blueprint_version_id == blueprint_version_id,
        ApplicationRow.state.not_in([s.value for s in FINAL_APPLICATION_STATES]),
    )
    total = await session.scalar(select(func.count()).select_from(ApplicationRow).where(*running))
    rows = await session.execute(
        select(ApplicationRow.reference, ApplicationRow.state)
        .where(*running)
        .order_by(ApplicationRow.submitted_at.desc(), ApplicationRow.id)
        .limit(limit)
    )
    return int(total or 0), [(str(ref), str(state)) for ref, state in rows]


MY_APPLICATIONS_PAGE = 20
"""Applications per page of a citizen's list."""


async def applications_of_applicant(
    session: AsyncSession,
    applicant_id: str,
    cursor: Cursor | None = None,
    limit: int = MY_APPLICATIONS_PAGE,
) -> Page[ApplicantApplication]:
    """A page of an applicant's applications, newest first, keyset-paged on (submitted at, id)
    over ``ix_applications_applicant_submitted``: two statements, the second reading each
    distinct blueprint version's title once (none when this process holds them validated)."""
    submitted, ident = ApplicationRow.submitted_at, ApplicationRow.id
    query = select(
        ident,
        ApplicationRow.reference,
        ApplicationRow.state,
        submitted,
        ApplicationRow.updated_at,
        ApplicationRow.deadline_at,
        ApplicationRow.blueprint_version_id,
    ).where(ApplicationRow.applicant_id == applicant_id)
    backwards = cursor is not None and cursor.direction == "before"
    if cursor is not None:
        if backwards:
            query = query.where(
                or_(submitted > cursor.at, and_(submitted == cursor.at, ident > cursor.id))
            ).order_by(submitted, ident)
        else:
            query = query.where(
                or_(submitted < cursor.at, and_(submitted == cursor.at, ident < cursor.id))
            )
    if not backwards:
        query = query.order_by(submitted.desc(), ident.desc())
    rows = list(await session.execute(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    titles = await version_titles(session, {r.blueprint_version_id for r in rows})
    items = [
        ApplicantApplication(
            id=r.id,
            reference=r.reference,
            service_title=titles.get(r.blueprint_version_id, {}),
            state=r.state,
            submitted_at=r.submitted_at,
            updated_at=r.updated_at,
            deadline_at=r.deadline_at,
        )
        for r in rows
    ]
    if not items:
        return Page(items, None, None)
    first, last = items[0], items[-1]
    has_next = more if not backwards else True
    has_previous = more if backwards else cursor is not None
    return Page(
        items,
        Cursor("after", last.submitted_at, last.id).encode() if has_next else None,
        Cursor("before", first.submitted_at, first.id).encode() if has_previous else None,
    )


TIMELINE_PAGE = 50
"""Timeline entries per page, newest page first (issue 23, ADR 0075)."""

TIMELINE_CURSOR_PURPOSE = "civicloom.timeline"


@functools.lru_cache(maxsize=4)
def timeline_cursors(secret: str) -> SignedCursors:
    """The timeline's cursor signer, keyed by the platform's secret (pages and API alike);
    one per secret, not one per request (it holds nothing but the derived key)."""
    return SignedCursors(secret.encode(), TIMELINE_CURSOR_PURPOSE)


@dataclass(frozen=True)
class TimelineQuery:
    """Which entries of one application's timeline a reader sees, and the page wanted.

    ``applicant``: only the entries the applicant sees. Otherwise staff of ``department`` see
    its own and the platform's entries (no department), and another department's only where
    the applicant sees them too and the event is one of ``shared_events`` (where its step
    stands); ``department`` None: every entry (an auditor). ``position`` is where the page
    starts (keyset on the entry's id; None: the newest page).
    """

    application_id: str
    applicant: bool = False
    department: str | None = None
    shared_events: frozenset[str] = frozenset()
    position: Position | None = None
    limit: int = TIMELINE_PAGE

    @property
    def scope(self) -> str:
        """What a cursor of this timeline is bound to: the application and whose view of it
        (a cursor of another application, or of another reader's view, is refused)."""
        if self.applicant:
            reader = "applicant"
        elif self.department is None:
            reader = "all"
        else:
            reader = f"department:{self.department}:{','.join(sorted(self.shared_events))}"
        return f"timeline\n{self.application_id}\n{reader}"

    def at(self, position: Position) -> TimelineQuery:
        """The same timeline from ``position``; InvalidCursor when it names no entry id (a
        signed cursor of this timeline always does)."""
        if not (position.id.isascii() and position.id.isdigit() and len(position.id) <= 18):
            raise _not_a_page_link()
        if position.at is not None:
            raise _not_a_page_link()
        return replace(self, position=position)

    def from_cursor(self, cursors: SignedCursors | None, cursor: str | None) -> TimelineQuery:
        """The same timeline from a neighbouring page's link (``cursor`` None: the newest page);
        InvalidCursor naming ``cursor`` for one this timeline did not give out (altered, another
        application's, another reader's view), or any when there is no signer to check it."""
        if cursor is None:
            return self
        if cursors is None:
            raise _not_a_page_link()
        return self.at(cursors.decode(cursor, self.scope))


def _not_a_page_link() -> InvalidCursor:
    return InvalidCursor(
        [FieldError("cursor", "cursor", "'cursor' is not a page link this list gave out")]
    )


@dataclass(frozen=True)
class TimelinePage:
    """One page of a timeline, newest first, and where its neighbours start (None at an end):
    ``older`` the next page, ``newer`` the previous one."""

    entries: list[CaseEvent]
    older: Position | None
    newer: Position | None


@functools.lru_cache(maxsize=256)
def _timeline_shape(
    applicant: bool,
    department: str | None,
    shared_events: frozenset[str],
    direction: str | None,
    limit: int,
) -> Select[int, datetime, str, str | None, str | None, str, bool]:
    """The statement of one reader's pages from one kind of position, built once: the
    application and the position are bind parameters (``application_id``, ``start``), so a
    page read costs no statement construction nor cache key (issue 23, ADR 0079)."""
    entry = TimelineRow.__table__.c
    statement = select(
        entry.id,
        entry.at,
        entry.event,
        entry.step_id,
        entry.department,
        entry.message,
        entry.visible_to_applicant,
    ).where(entry.application_id == bindparam("application_id"))
    if applicant:
        statement = statement.where(entry.visible_to_applicant.is_(True))
    elif department is not None:
        own = or_(entry.department.is_(None), entry.department == department)
        if shared_events:
            shared = and_(
                entry.visible_to_applicant.is_(True), entry.event.in_(sorted(shared_events))
            )
            own = or_(own, shared)
        statement = statement.where(own)
    newer = direction == "before"
    if direction is not None:
        start: BindParameter[int] = bindparam("start")
        statement = statement.where(entry.id > start if newer else entry.id < start)
    return statement.order_by(entry.id.asc() if newer else entry.id.desc()).limit(limit + 1)


def _timeline_statement(
    q: TimelineQuery,
) -> tuple[Select[int, datetime, str, str | None, str | None, str, bool], dict[str, Any]]:
    position = q.position
    shape = _timeline_shape(
        q.applicant,
        q.department,
        q.shared_events,
        None if position is None else position.direction,
        q.limit,
    )
    params: dict[str, Any] = {"application_id": q.application_id}
    if position is not None:
        params["start"] = int(position.id)
    return shape, params


def timeline_page_statement(
    q: TimelineQuery,
) -> Select[int, datetime, str, str | None, str | None, str, bool]:
    """The statement of one page (``q.limit`` + 1 entries in the page's reading order), its
    values bound: a walk of ``ix_application_timeline_application_id_id`` from the position,
    the reader's filter applied to each entry as it is read."""
    shape, params = _timeline_statement(q)
    return shape.params(**params)


async def timeline_page(session: AsyncSession, q: TimelineQuery) -> TimelinePage:
    """One page of an application's timeline as ``q``'s reader sees it, newest first: one
    statement reading at most ``q.limit`` + 1 entries, however long the timeline is."""
    shape, params = _timeline_statement(q)
    rows = list(await session.execute(shape, params))
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    newer = q.position is not None and q.position.direction == "before"
    if newer:
        rows.reverse()
    if not rows:
        return TimelinePage([], None, None)
    has_older = True if newer else more
    has_newer = more if newer else q.position is not None
    return TimelinePage(
        [
            CaseEvent(
                at=r.at,
                event=r.event,
                step_id=r.step_id,
                department=r.department,
                message=r.message,
                visible_to_applicant=bool(r.visible_to_applicant),
            )
            for r in rows
        ],
        Position("after", None, str(rows[-1].id)) if has_older else None,
        Position("before", None, str(rows[0].id)) if has_newer else None,
    )


def _department_queue(q: DepartmentQueueQuery, now: datetime) -> Select[TaskRow, ApplicationRow]:
    query = (
        select(TaskRow, ApplicationRow)
        .join(ApplicationRow, ApplicationRow.id == TaskRow.application_id)
        # the states as literals: a generic prepared plan still proves the partial index's
        # predicate (``ix_application_tasks_open_queue``)
        .where(
            TaskRow.department == q.department,
            TaskRow.state.in_([literal_column(f"'{state}'") for state in OPEN_HUMAN_STATES]),
        )
    )
    if q.service:
        query = query.where(ApplicationRow.service_id == q.service)
    if q.state:
        query = query.where(TaskRow.state == q.state)
    if q.assignee:
        query = query.where(TaskRow.assignee == q.assignee)
    if q.sla == "breached":
        query = query.where(TaskRow.sla_due_at < now)
    elif q.sla == "due_soon":
        query = query.where(TaskRow.sla_due_at >= now, TaskRow.sla_due_at <= now + q.due_soon)
    elif q.sla == "on_track":
        query = query.where(
            or_(TaskRow.sla_due_at.is_(None), TaskRow.sla_due_at > now + q.due_soon)
        )
    elif q.sla == "not_breached":
        query = query.where(or_(TaskRow.sla_due_at.is_(None), TaskRow.sla_due_at >= now))
    return query


def _keyset_branches(
    position: Position,
) -> list[tuple[ColumnElement[bool], tuple[ColumnElement[Any], ...]]]:
    """The rows after (or before) ``position`` in the queue's order (due date, nulls last, then
    id), as one or two index-ordered ranges: a row comparison never matches a NULL due date, so
    the tasks without one are their own range."""
    due, ident = TaskRow.sla_due_at, TaskRow.id
    # every range is read in the index's own order, even where every due date in it is NULL:
    # ordered by id alone, PostgreSQL walks the primary key instead
    forward = (due.asc().nulls_last(), ident.asc())
    backward = (due.desc().nulls_first(), ident.desc())
    if position.direction == "after":
        if position.at is None:
            return [(and_(due.is_(None), ident > position.id), forward)]
        return [
            (tuple_(due, ident) > tuple_(_due(position.at), literal(position.id)), forward),
            (due.is_(None), forward),
        ]
    if position.at is not None:
        return [(tuple_(due, ident) < tuple_(_due(position.at), literal(position.id)), backward)]
    return [
        (and_(due.is_(None), ident < position.id), backward),
        (due.is_not(None), backward),
    ]


def queue_cursors(secret: str) -> SignedCursors:
    """The work queue's cursor signer, keyed by the platform's secret (page and API alike)."""
    return SignedCursors(secret.encode(), "civicloom.work-queue")


def _due(at: datetime) -> ColumnElement[Any]:
    return literal(at, type_=TaskRow.__table__.c.sla_due_at.type)


def queue_page_statement(q: DepartmentQueueQuery, now: datetime) -> Select[TaskRow, ApplicationRow]:
    """The statement of one page of the queue (``q.limit`` + 1 rows, in the page's order)."""
    base = _department_queue(q, now)
    due, ident = TaskRow.sla_due_at, TaskRow.id
    backwards = q.position is not None and q.position.direction == "before"
    order = (
        (due.desc().nulls_first(), ident.desc()) if backwards else (due.asc().nulls_last(), ident)
    )
    fetch = q.limit + 1
    if q.position is None:
        statement = base
    else:
        branches = _keyset_branches(q.position)
        if len(branches) == 1:
            statement = base.where(branches[0][0])
        else:
            ranges = [
                base.with_only_columns(ident).where(where).order_by(*by).limit(fetch).subquery()
                for where, by in branches
            ]
            ids = union_all(*(select(r.c.id) for r in ranges)).subquery()
            statement = base.where(ident.in_(select(ids.c.id)))
    # a queue line names the application (its header), never its answers: the form data and
    # decisions stay in the database (kilobytes per row, read for nothing)
    return (
        statement.order_by(*order)
        .limit(fetch)
        .options(defer(ApplicationRow.data), defer(ApplicationRow.decisions))
    )


async def department_queue(
    session: AsyncSession, q: DepartmentQueueQuery, now: datetime
) -> QueueSlice:
    """A page of a department's open human tasks, soonest due first (no due date last), keyset-
    paged on (due date, id) over ``ix_application_tasks_open_queue``: two statements per page,
    the first counting at most ``QUEUE_COUNT_CAP`` + 1 tasks, however deep the page."""
    base = _department_queue(q, now)
    # without a service filter every condition is the task's own: count the open-queue index's
    # entries alone (the application a task belongs to always exists), not a join per task
    counted = base.with_only_columns(TaskRow.id) if q.service else select(TaskRow.id)
    if not q.service and base.whereclause is not None:
        counted = counted.where(base.whereclause)
    limited = counted.limit(QUEUE_COUNT_CAP + 1).subquery()
    total = int(await session.scalar(select(func.count()).select_from(limited)) or 0)
    backwards = q.position is not None and q.position.direction == "before"
    rows = list(await session.execute(queue_page_statement(q, now)))
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    if backwards:
        rows.reverse()
    tasks = [task_view(task, app) for task, app in rows]
    has_next = (more if not backwards else True) and bool(tasks)
    has_previous = (more if backwards else q.position is not None) and bool(tasks)
    return QueueSlice(
        tasks=tasks,
        total=min(total, QUEUE_COUNT_CAP),
        capped=total > QUEUE_COUNT_CAP,
        next=Position("after", tasks[-1].sla_due_at, tasks[-1].id) if has_next else None,
        previous=Position("before", tasks[0].sla_due_at, tasks[0].id) if has_previous else None,
    )


async def tasks_needing_attention(
    session: AsyncSession, department: str, now: datetime, limit: int = 200
) -> list[TaskView]:
    """The department's escalated or breached open human tasks, oldest due first."""
    result = await session.execute(
        select(TaskRow, ApplicationRow)
        .join(ApplicationRow, ApplicationRow.id == TaskRow.application_id)
        .where(
            TaskRow.department == department,
            TaskRow.state.in_(OPEN_HUMAN_STATES),
            or_(TaskRow.escalated.is_(True), TaskRow.sla_due_at < now),
        )
        .order_by(TaskRow.sla_due_at, TaskRow.id)
        .limit(limit)
    )
    return [task_view(task, app) for task, app in result]


async def workload_by_assignee(
    session: AsyncSession, department: str, now: datetime
) -> list[AssigneeLoad]:
    """Open human tasks per assignee in a department (one grouped statement)."""
    breached = func.sum(case((TaskRow.sla_due_at < now, 1), else_=0))
    rows = await session.execute(
        select(TaskRow.assignee, func.count(), breached)
        .where(TaskRow.department == department, TaskRow.state.in_(OPEN_HUMAN_STATES))
        .group_by(TaskRow.assignee)
        .order_by(TaskRow.assignee)
    )
    return [AssigneeLoad(a, int(n), int(b or 0)) for a, n, b in rows]


async def tasks_of_application(
    session: AsyncSession, application_id: str, states: Collection[str]
) -> list[TaskView]:
    """An application's tasks in the given states."""
    result = await session.execute(
        select(TaskRow, ApplicationRow)
        .join(ApplicationRow, ApplicationRow.id == TaskRow.application_id)
        .where(TaskRow.application_id == application_id, TaskRow.state.in_(sorted(states)))
    )
    return [task_view(task, app) for task, app in result]


def _field_names(dialect: str) -> ColumnElement[Any]:
    """The names of an application's answered fields as ONE value per application, computed
    by the database (the answers never leave it; ADR 0074, amended 2026-12-06): a ``text[]``
    on PostgreSQL, a JSON array text on SQLite; NULL when the form data is not an object."""
    data = ApplicationRow.data
    if dialect == "postgresql":
        keys = func.jsonb_object_keys(data).table_valued("name").render_derived()
        names = select(func.array_agg(keys.c.name)).select_from(keys).scalar_subquery()
        is_object = func.jsonb_typeof(data) == "object"
    else:
        each = func.json_each(data).table_valued("key")
        names = select(func.json_group_array(each.c.key)).select_from(each).scalar_subquery()
        is_object = func.json_type(data) == "object"
    # CASE: jsonb_object_keys raises on anything but an object, so it must not be reached
    return case((is_object, names), else_=null())


def _names_of(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):  # SQLite's json_group_array
        value = json.loads(value)
    return frozenset(str(name) for name in value)


async def service_case_facts(
    session: AsyncSession,
    service: str,
    start: datetime,
    end: datetime,
    after: tuple[datetime, str] | None,
    limit: int,
) -> ServiceCaseFacts:
    """The next ``limit`` applications of a service submitted in ``[start, end)``, in
    ``(submitted_at, id)`` order from just after ``after``, with the names of their answered
    fields (never the answers), their tasks and the number of answers to information requests
    per application: three statements, one when there is none (ADR 0074; the field names come
    with each application as one array, amended 2026-12-06). The caller reads the
    next chunk after the last application's ``(submitted_at, id)`` until one comes back shorter
    than ``limit``."""
    query = (
        select(
            ApplicationRow.id,
            ApplicationRow.state,
            ApplicationRow.submitted_at,
            ApplicationRow.decided_at,
            _field_names(session.get_bind().dialect.name),
        )
        .where(ApplicationRow.service_id == service)
        .where(ApplicationRow.submitted_at >= start)
        .where(ApplicationRow.submitted_at < end)
    )
    if after is not None:
        at, last = after
        query = query.where(
            ApplicationRow.submitted_at >= at,
            or_(ApplicationRow.submitted_at > at, ApplicationRow.id > last),
        )
    rows = (
        await session.execute(
            query.order_by(ApplicationRow.submitted_at, ApplicationRow.id).limit(limit)
        )
    ).all()
    if not rows:
        return ServiceCaseFacts()
    ids = [str(row[0]) for row in rows]
    apps = [
        ApplicationFacts(str(i), str(state), submitted, decided, _names_of(names))
        for i, state, submitted, decided, names in rows
    ]
    steps = [
        StepFacts(*row)
        for row in await session.execute(
            select(
                TaskRow.application_id,
                TaskRow.step_id,
                TaskRow.kind,
                TaskRow.department,
                TaskRow.state,
                TaskRow.activated_at,
                TaskRow.completed_at,
                TaskRow.sla_due_at,
            ).where(TaskRow.application_id.in_(ids))
        )
    ]
    answers: Counter[str] = Counter(
        dict(
            (str(k), int(v))
            for k, v in await session.execute(
                select(TimelineRow.application_id, func.count())
                .where(TimelineRow.application_id.in_(ids))
                .where(TimelineRow.event == "information.provided")
                .group_by(TimelineRow.application_id)
            )
        )
    )
    return ServiceCaseFacts(applications=apps, steps=steps, answers=answers)


def case_figures(conn: Connection, now: datetime) -> CaseFigures:
    """Applications by state, queues, SLA breaches, retries and dead letters (six grouped
    statements, on a synchronous connection: Prometheus collectors are synchronous)."""
    apps = conn.execute(
        select(ApplicationRow.service_id, ApplicationRow.state, func.count()).group_by(
            ApplicationRow.service_id, ApplicationRow.state
        )
    ).all()
    queues = conn.execute(
        select(
            TaskRow.department,
            TaskRow.state,
            func.count(),
            func.min(func.coalesce(TaskRow.activated_at, TaskRow.created_at)),
        )
        .where(TaskRow.state.in_(QUEUED_STATES))
        .group_by(TaskRow.department, TaskRow.state)
    ).all()
    breached = conn.execute(
        select(TaskRow.department, func.count())
        .where(TaskRow.state.in_(OPEN_STATES), TaskRow.sla_due_at < now)
        .group_by(TaskRow.department)
    ).all()
    late = conn.execute(
        select(TaskRow.department, func.count())
        .where(TaskRow.state == "completed", TaskRow.completed_at > TaskRow.sla_due_at)
        .group_by(TaskRow.department)
    ).all()
    retries = conn.execute(
        select(TaskRow.department, func.sum(TaskRow.attempts - 1))
        .where(TaskRow.kind == StepKind.AUTOMATED.value, TaskRow.attempts > 1)
        .group_by(TaskRow.department)
    ).all()
    dead = conn.execute(
        select(DeadLetterRow.department, func.count())
        .where(DeadLetterRow.resolved_at.is_(None))
        .group_by(DeadLetterRow.department)
    ).all()
    return CaseFigures(
        applications=[(str(s), str(st), int(n)) for s, st, n in apps],
        queues=[QueueFigure(d, str(st), int(n), _as_datetime(first)) for d, st, n, first in queues],
        breached_open=[(d, int(n or 0)) for d, n in breached],
        breached_done=[(d, int(n or 0)) for d, n in late],
        retries=[(d, int(n or 0)) for d, n in retries],
        dead_letters=[(d, int(n or 0)) for d, n in dead],
    )


def _as_datetime(value: Any) -> datetime | None:
    # func.min bypasses the column type on SQLite: the value may come back as text.
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


async def case_usage(session: AsyncSession, start: datetime, end: datetime) -> list[UsageRecord]:
    """Applications submitted and tasks completed in ``[start, end)``, for the funding meters
    (two statements; a task carries its own department, an application none)."""
    submitted = [
        UsageRecord(service, None, "application", at)
        for service, at in await session.execute(
            select(ApplicationRow.service_id, ApplicationRow.submitted_at)
            .where(ApplicationRow.submitted_at >= start)
            .where(ApplicationRow.submitted_at < end)
        )
    ]
    completed = [
        UsageRecord(
            service, department, kind, at, _amount(kind, given), capability, task_id, app_id
        )
        for service, department, kind, at, given, capability, task_id, app_id in (
            await session.execute(
                select(
                    ApplicationRow.service_id,
                    TaskRow.department,
                    TaskRow.kind,
                    TaskRow.completed_at,
                    TaskRow.input,
                    TaskRow.capability,
                    TaskRow.id,
                    TaskRow.application_id,
                )
                .join(ApplicationRow, ApplicationRow.id == TaskRow.application_id)
                .where(TaskRow.state == TaskState.COMPLETED.value)
                .where(TaskRow.completed_at >= start)
                .where(TaskRow.completed_at < end)
            )
        )
    ]
    return submitted + completed


async def departments_handling(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[str, str | None, datetime]]:
    """``(service, department, at)`` for every application a department handled, on the day
    the department first completed a step of it, when that day is in ``[start, end)`` (one
    statement; a platform step has no department)."""
    first = func.min(TaskRow.completed_at)
    rows = await session.execute(
        select(ApplicationRow.service_id, TaskRow.department, first)
        .join(ApplicationRow, ApplicationRow.id == TaskRow.application_id)
        .where(TaskRow.state == TaskState.COMPLETED.value)
        .where(TaskRow.completed_at.is_not(None))
        .group_by(TaskRow.application_id, ApplicationRow.service_id, TaskRow.department)
        .having(first >= start)
        .having(first < end)
    )
    return [(str(s), d, at) for s, d, at in rows if at is not None]


def _amount(kind: str, given: dict[str, Any] | None) -> str | None:
    if kind != StepKind.PAYMENT or not given or given.get("amount") is None:
        return None
    return str(given["amount"])


async def services_of(session: AsyncSession, application_ids: Collection[str]) -> dict[str, str]:
    """The service of each application (one statement)."""
    if not application_ids:
        return {}
    rows = await session.execute(
        select(ApplicationRow.id, ApplicationRow.service_id).where(
            ApplicationRow.id.in_(list(application_ids))
        )
    )
    return {str(i): str(s) for i, s in rows}


def _submission_day(session: AsyncSession) -> ColumnElement[Any]:
    """An application's submission day (UTC) computed by the database."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", ApplicationRow.submitted_at), Date)
    return func.date(ApplicationRow.submitted_at)  # SQLite stores UTC text


def _as_day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


async def changed_service_days(
    session: AsyncSession, since: datetime | None
) -> tuple[set[tuple[str, date]], datetime | None]:
    """The (service, submission day) pairs of applications changed at or after ``since`` (every
    application when None), and the newest change seen: what the KPI aggregates recount.
    Grouped by the database, so the answer grows with days, not applications (ADR 0066)."""
    day = _submission_day(session).label("day")
    query = select(ApplicationRow.service_id, day, func.max(ApplicationRow.updated_at)).group_by(
        ApplicationRow.service_id, day
    )
    if since is not None:
        query = query.where(ApplicationRow.updated_at >= since)
    rows = (await session.execute(query)).all()
    newest = max((r[2] for r in rows), default=None)
    return {(str(r[0]), _as_day(r[1])) for r in rows}, newest


async def state_counts_by_submission_day(
    session: AsyncSession, service: str, start: datetime, end: datetime
) -> dict[date, dict[str, int]]:
    """How many of a service's applications submitted in ``[start, end)`` are in each state,
    per submission day (UTC; one statement, counted by the database)."""
    day = _submission_day(session).label("day")
    rows = await session.execute(
        select(day, ApplicationRow.state, func.count())
        .where(ApplicationRow.service_id == service)
        .where(ApplicationRow.submitted_at >= start)
        .where(ApplicationRow.submitted_at < end)
        .group_by(day, ApplicationRow.state)
    )
    counts: dict[date, dict[str, int]] = {}
    for found, state, count in rows.all():
        counts.setdefault(_as_day(found), {})[str(state)] = int(count)
    return counts
