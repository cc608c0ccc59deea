"""Loading a case (application, pinned blueprint, tasks) and writing its records: the
timeline entry, the CloudEvent and the audit entry every transition leaves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.tables import ApplicationRow, TaskRow, TimelineRow
from civicloom.audit import AuditRecord, append_audit
from civicloom.catalogue import Blueprint, StepGraph, get_blueprint_version, step_graph
from civicloom.db import notify_on_commit
from civicloom.outbox import CloudEvent, enqueue_event

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
    workers finishing sibling steps of one application serialise without deadlocks.
    """
    ids = sorted(set(application_ids))
    query = select(ApplicationRow).where(ApplicationRow.id.in_(ids)).order_by(ApplicationRow.id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    apps = list(await session.scalars(query))
    tasks_by_app: dict[str, list[TaskRow]] = {a.id: [] for a in apps}
    for task in await session.scalars(select(TaskRow).where(TaskRow.application_id.in_(ids))):
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
    session.add(
        TimelineRow(
            application_id=app.id,
            at=now,
            event=event,
            step_id=task.step_id if task else None,
            department=task.department if task else None,
            message=message,
            visible_to_applicant=visible,
        )
    )


async def emit(
    session: AsyncSession,
    app: ApplicationRow,
    now: datetime,
    event_type: str,
    data: dict[str, Any],
    key: str,
) -> None:
    """Write a CloudEvent about the application to the outbox."""
    await enqueue_event(
        session,
        CloudEvent(
            type=f"civicloom.{event_type}",
            source=EVENT_SOURCE,
            subject=app.id,
            time=now,
            data={"application_id": app.id, "reference": app.reference, **data},
        ),
        key=key,
    )


async def audit(
    session: AsyncSession,
    actor: str,
    action: str,
    app: ApplicationRow,
    now: datetime,
    department: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append an audit entry about the application."""
    await append_audit(
        session,
        AuditRecord(
            actor=actor,
            action=action,
            subject_type="application",
            subject_id=app.id,
            occurred_at=now,
            department=department,
            details=details or {},
        ),
    )


async def wake_workers(session: AsyncSession) -> None:
    """Wake listening workers when this transaction commits (one NOTIFY per transaction)."""
    notify_on_commit(session, NOTIFY_CHANNEL)
