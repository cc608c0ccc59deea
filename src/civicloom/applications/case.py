"""Loading a case (application, pinned blueprint, tasks) and writing its records: the
timeline entry, the CloudEvent and the audit entry every transition leaves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.tables import ApplicationRow, TaskRow, TimelineRow
from civicloom.audit import AuditAction, AuditRecord, queue_audit
from civicloom.catalogue import Blueprint, StepGraph, get_blueprint_version, step_graph
from civicloom.db import add_pending, notify_on_commit
from civicloom.outbox import CloudEvent, EventType, enqueue_event

EVENT_SOURCE = "urn:civicloom:applications"
NOTIFY_CHANNEL = "civicloom_work"

# Published blueprint versions never change, so their parsed form and graph can be kept.
_PINNED: dict[str, tuple[Blueprint, StepGraph]] = {}


class CaseContext:
    """An application, its pinned blueprint's graph and all its tasks, loaded once."""

    def __init__(
        self,
        app: ApplicationRow,
        blueprint: Blueprint,
        tasks: list[TaskRow],
        graph: StepGraph | None = None,
    ) -> None:
        self.app = app
        self.blueprint = blueprint
        self.graph: StepGraph = graph or step_graph(blueprint)
        self.tasks = {t.step_id: t for t in tasks}

    def expression_context(self) -> dict[str, Any]:
        """What step inputs and conditions may refer to."""
        return {
            "data": self.app.data,
            "steps": {
                sid: {"state": t.state, "output": t.output or {}} for sid, t in self.tasks.items()
            },
            "decisions": dict(self.app.decisions or {}),
        }


async def _pinned(session: AsyncSession, version_id: str) -> tuple[Blueprint, StepGraph]:
    cached = _PINNED.get(version_id)
    if cached is None:
        published = await get_blueprint_version(session, version_id)
        assert published is not None, "an application's blueprint version is never deleted"
        cached = (published.blueprint, step_graph(published.blueprint))
        _PINNED[version_id] = cached
    return cached


async def load_cases(
    session: AsyncSession, application_ids: list[str], lock: bool = False
) -> dict[str, CaseContext]:
    """Load applications with their blueprints and tasks in two queries.

    With ``lock`` the application rows are locked (PostgreSQL) in id order, so concurrent
    workers finishing sibling steps of one application serialise without deadlocks; rows the
    session read before the lock are read again (``populate_existing``), so a decision taken
    under the lock never rests on what another transaction has changed meanwhile.
    """
    ids = sorted(set(application_ids))
    query = select(ApplicationRow).where(ApplicationRow.id.in_(ids)).order_by(ApplicationRow.id)
    tasks = select(TaskRow).where(TaskRow.application_id.in_(ids))
    if lock:
        query, tasks = (
            query.execution_options(populate_existing=True),
            tasks.execution_options(populate_existing=True),
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
    apps = list(await session.scalars(query))
    tasks_by_app: dict[str, list[TaskRow]] = {a.id: [] for a in apps}
    for task in await session.scalars(tasks):
        tasks_by_app[task.application_id].append(task)
    cases = {}
    for app in apps:
        blueprint, graph = await _pinned(session, app.blueprint_version_id)
        cases[app.id] = CaseContext(app, blueprint, tasks_by_app[app.id], graph)
    return cases


async def load_case(session: AsyncSession, application_id: str, lock: bool = False) -> CaseContext:
    """Load one application with its blueprint version and tasks (row-locked on PostgreSQL)."""
    cases = await load_cases(session, [application_id], lock)
    return cases[application_id]


@dataclass(frozen=True)
class TimelineNote:
    """What the case's timeline shows about a change (the applicant sees it unless hidden)."""

    event: str
    message: str
    step_id: str | None = None
    department: str | None = None
    visible: bool = True


@dataclass(frozen=True)
class AuditNote:
    """Who changed the case and how, for its audit chain."""

    actor: str
    action: AuditAction
    department: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    purpose: str | None = None  # why personal data was read
    fields: tuple[str, ...] = ()  # which personal data was read


@dataclass(frozen=True)
class EventNote:
    """The CloudEvent a change publishes; ``key`` makes a repeated write a no-op."""

    type: EventType
    data: dict[str, Any]
    key: str
    source: str = EVENT_SOURCE


class CaseIdentity(Protocol):
    """What identifies a case in its records: its id and its public reference."""

    @property
    def id(self) -> str: ...

    @property
    def reference(self) -> str: ...


_INSERT_TIMELINE = insert(cast(Table, TimelineRow.__table__))


def _write_timeline(
    session: AsyncSession, application_id: str, now: datetime, note: TimelineNote
) -> None:
    """Queue the entry: the transaction's entries are inserted in one statement, in the order
    they were written (``civicloom.db.pending``, ADR 0067)."""
    add_pending(
        session.sync_session,
        _INSERT_TIMELINE,
        {
            "application_id": application_id,
            "at": now,
            "event": note.event,
            "step_id": note.step_id,
            "department": note.department,
            "message": note.message,
            "visible_to_applicant": note.visible,
        },
    )


async def record_case_change(
    session: AsyncSession,
    case: CaseIdentity,
    now: datetime,
    *,
    timeline: TimelineNote | None = None,
    audit: AuditNote | None = None,
    event: EventNote | None = None,
) -> None:
    """Record a change to a case in the caller's transaction: its timeline entry, its outbox
    event and its audit entry (each optional). Every module records case changes here."""
    if timeline is not None:
        _write_timeline(session, case.id, now, timeline)
    if event is not None:
        await enqueue_event(
            session,
            CloudEvent(
                type=event.type,
                source=event.source,
                subject=case.id,
                time=now,
                data={"application_id": case.id, "reference": case.reference, **event.data},
            ),
            key=event.key,
        )
    if audit is not None:  # last: the audit chain's lock is then held only until commit
        await queue_audit(
            session,
            AuditRecord(
                actor=audit.actor,
                action=audit.action,
                subject_type="application",
                subject_id=case.id,
                occurred_at=now,
                department=audit.department,
                purpose=audit.purpose,
                fields=audit.fields,
                details=audit.details,
            ),
        )


# The engine's shorthands for one part of a change; they write through the same code.


def add_timeline(
    session: AsyncSession,
    app: ApplicationRow,
    now: datetime,
    event: str,
    message: str,
    task: TaskRow | None = None,
    visible: bool = True,
) -> None:
    """Append a timeline entry."""
    note = TimelineNote(
        event,
        message,
        task.step_id if task else None,
        task.department if task else None,
        visible,
    )
    _write_timeline(session, app.id, now, note)


async def emit(
    session: AsyncSession,
    app: ApplicationRow,
    now: datetime,
    event_type: EventType,
    data: dict[str, Any],
    key: str,
) -> None:
    """Write a CloudEvent about the application to the outbox."""
    await record_case_change(session, app, now, event=EventNote(event_type, data, key))


async def audit(
    session: AsyncSession,
    actor: str,
    action: AuditAction,
    app: ApplicationRow,
    now: datetime,
    department: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append an audit entry about the application."""
    await record_case_change(
        session, app, now, audit=AuditNote(actor, action, department, details or {})
    )


async def wake_workers(session: AsyncSession) -> None:
    """Wake listening workers when this transaction commits (one NOTIFY per transaction)."""
    notify_on_commit(session, NOTIFY_CHANNEL)
