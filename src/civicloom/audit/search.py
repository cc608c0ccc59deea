"""Searching the audit trail: filters in, records out (the tables stay private, ADR 0027).

Every search covers the chains and the personal-data reads not yet folded into them, in one
statement (``audit.trail``, ADR 0073): nobody sees less because the worker has not run yet."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit.actions import PERSONAL_DATA_READS, AuditAction
from civicloom.audit.domain import AuditRecord
from civicloom.audit.seals import trail_line
from civicloom.audit.services import record_of_trail
from civicloom.audit.tables import AuditEntryRow
from civicloom.audit.trail import Audited, newest_first, trail


@dataclass(frozen=True)
class AuditFilter:
    """Entries matching every filter given.

    ``applications``: only entries about these applications (an empty tuple matches none).
    ``person`` with ``person_applications``: entries about that person's applications or
    acted by them. ``until`` is exclusive. ``actions``: only entries recording these actions.
    """

    applications: tuple[str, ...] | None = None
    person: str | None = None
    person_applications: tuple[str, ...] = ()
    actor: str | None = None
    department: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    reads_only: bool = False
    actions: tuple[AuditAction, ...] | None = None


def _about_applications(table: Audited, ids: tuple[str, ...]) -> ColumnElement[bool]:
    return (table.subject_type == "application") & table.subject_id.in_(sorted(ids))


def _where(f: AuditFilter) -> Callable[[Audited], list[ColumnElement[bool]]]:
    def where(table: Audited) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if f.applications is not None:
            found.append(_about_applications(table, f.applications))
        if f.person:
            mine = _about_applications(table, f.person_applications)
            found.append(or_(mine, table.actor_subject == f.person))
        if f.actor:
            found.append(table.actor_subject == f.actor)
        if f.department:
            found.append(table.department == f.department)
        if f.since:
            found.append(table.occurred_at >= f.since)
        if f.until:
            found.append(table.occurred_at < f.until)
        if f.actions is not None:
            found.append(table.action.in_(sorted(a.value for a in f.actions)))
        if f.reads_only:
            found.append(table.action.in_(sorted(a.value for a in PERSONAL_DATA_READS)))
        return found

    return where


def _may_be_pending(f: AuditFilter) -> bool:
    """Whether a read not yet folded can match (only reads of personal data are logged)."""
    return f.actions is None or any(a in PERSONAL_DATA_READS for a in f.actions)


async def search_entries(session: AsyncSession, f: AuditFilter, limit: int) -> list[AuditRecord]:
    """Matching entries and reads not yet folded, newest first, at most ``limit`` (one
    statement)."""
    sub = trail(_where(f), newest=limit, pending=_may_be_pending(f))
    rows = await session.execute(select(sub).order_by(*newest_first(sub)).limit(limit))
    return [record_of_trail(row) for row in rows]


async def export_entries(session: AsyncSession, f: AuditFilter) -> AsyncIterator[dict[str, Any]]:
    """Every matching entry in the JSON Lines export shape, oldest first, then the matching
    reads not yet folded (``"type": "pending_read"``) in the order recorded (one statement,
    streamed)."""
    sub = trail(_where(f), pending=_may_be_pending(f))
    async for row in await session.stream(select(sub).order_by(sub.c.pending, sub.c.ord)):
        yield trail_line(row)


async def subject_history(
    session: AsyncSession, subject_type: str, subject_id: str, *, without_reads: bool = False
) -> list[AuditRecord]:
    """Everything recorded about one subject: its chain in order, then the reads not yet
    folded into it in the order recorded (one statement). ``without_reads`` leaves out the
    personal-data reads (every view of a case adds one; a case's history never shows them), so
    what is sent back does not grow with the number of times the case was looked at."""

    def where(table: Audited) -> list[ColumnElement[bool]]:
        kept = [table.subject_type == subject_type, table.subject_id == subject_id]
        if without_reads:
            kept.append(table.action.notin_(sorted(a.value for a in PERSONAL_DATA_READS)))
        return kept

    sub = trail(where)
    rows = await session.execute(select(sub).order_by(sub.c.pending, sub.c.position, sub.c.ord))
    return [record_of_trail(row) for row in rows]


TASK_HAND_OVERS = (AuditAction.TASK_CLAIMED, AuditAction.TASK_TAKEN_OVER, AuditAction.TASK_ASSIGNED)


async def task_hand_overs(
    session: AsyncSession, application_ids: Collection[str]
) -> dict[str, datetime]:
    """When an officer first took each task of these applications (claimed, was assigned or
    took it over), by task id, for the funding meters (one statement per 500 applications)."""
    first: dict[str, datetime] = {}
    ids = sorted(set(application_ids))
    for at in range(0, len(ids), 500):
        rows = await session.execute(
            select(AuditEntryRow.details, AuditEntryRow.occurred_at)
            .where(AuditEntryRow.subject_type == "application")
            .where(AuditEntryRow.subject_id.in_(ids[at : at + 500]))
            .where(AuditEntryRow.action.in_(sorted(a.value for a in TASK_HAND_OVERS)))
        )
        for details, occurred in rows:
            task = (details or {}).get("task")
            if isinstance(task, str) and (task not in first or occurred < first[task]):
                first[task] = occurred
    return first


async def machine_client_actions(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[str, str | None, datetime]]:
    """``(client, department, at)`` for every audited call a machine client (an API key,
    ``client:<prefix>``) made in ``[start, end)``, for the funding meters, its reads not yet
    folded included (one statement)."""

    def where(table: Audited) -> list[ColumnElement[bool]]:
        return [
            table.actor_subject.like("client:%"),
            table.occurred_at >= start,
            table.occurred_at < end,
        ]

    sub = trail(where)
    rows = await session.execute(select(sub.c.actor_subject, sub.c.department, sub.c.occurred_at))
    return [(str(who), dept, at) for who, dept, at in rows]
