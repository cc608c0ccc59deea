"""Searching the audit trail: filters in, records out (the tables stay private, ADR 0027)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit.actions import PERSONAL_DATA_READS, AuditAction
from civicloom.audit.domain import AuditRecord
from civicloom.audit.seals import entry_line
from civicloom.audit.services import record_of
from civicloom.audit.tables import AuditEntryRow


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


def _actor_is(subject: str) -> Any:
    return AuditEntryRow.actor_subject == subject


def _about_applications(ids: tuple[str, ...]) -> Any:
    return (AuditEntryRow.subject_type == "application") & AuditEntryRow.subject_id.in_(sorted(ids))


def _select(f: AuditFilter) -> Select[AuditEntryRow]:
    query = select(AuditEntryRow)
    if f.applications is not None:
        query = query.where(_about_applications(f.applications))
    if f.person:
        query = query.where(or_(_about_applications(f.person_applications), _actor_is(f.person)))
    if f.actor:
        query = query.where(_actor_is(f.actor))
    if f.department:
        query = query.where(AuditEntryRow.department == f.department)
    if f.since:
        query = query.where(AuditEntryRow.occurred_at >= f.since)
    if f.until:
        query = query.where(AuditEntryRow.occurred_at < f.until)
    if f.actions is not None:
        query = query.where(AuditEntryRow.action.in_(sorted(a.value for a in f.actions)))
    if f.reads_only:
        query = query.where(AuditEntryRow.action.in_(sorted(a.value for a in PERSONAL_DATA_READS)))
    return query


async def search_entries(session: AsyncSession, f: AuditFilter, limit: int) -> list[AuditRecord]:
    """Matching entries, newest first, at most ``limit`` (one statement)."""
    rows = await session.scalars(
        _select(f).order_by(AuditEntryRow.occurred_at.desc(), AuditEntryRow.seq.desc()).limit(limit)
    )
    return [record_of(row) for row in rows]


async def export_entries(session: AsyncSession, f: AuditFilter) -> AsyncIterator[dict[str, Any]]:
    """Every matching entry in the JSON Lines export shape, oldest first (streamed)."""
    async for row in await session.stream_scalars(_select(f).order_by(AuditEntryRow.seq)):
        yield entry_line(row)


async def subject_history(
    session: AsyncSession, subject_type: str, subject_id: str
) -> list[AuditRecord]:
    """Everything recorded about one subject, in chain order (one statement)."""
    rows = await session.scalars(
        select(AuditEntryRow)
        .where(AuditEntryRow.subject_type == subject_type, AuditEntryRow.subject_id == subject_id)
        .order_by(AuditEntryRow.position)
    )
    return [record_of(row) for row in rows]


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
    ``client:<prefix>``) made in ``[start, end)``, for the funding meters (one statement)."""
    rows = await session.execute(
        select(AuditEntryRow.actor_subject, AuditEntryRow.department, AuditEntryRow.occurred_at)
        .where(AuditEntryRow.actor_subject.like("client:%"))
        .where(AuditEntryRow.occurred_at >= start)
        .where(AuditEntryRow.occurred_at < end)
    )
    return [(str(who), dept, at) for who, dept, at in rows]
