"""Retention of a closed application's form data (ADR 0050).

Each form field's retention (``x-retention`` in the blueprint version the application is pinned
to) runs from the day the application closed (``decided_at``). When it has run out the field's
answer is removed from the application's data, and the removal is audited through the one write
path (``application.form_data_purged``, naming the fields, never their values). A field whose
version declares no retention is kept. Batches are short transactions; on PostgreSQL rows
another worker is purging are skipped (``SKIP LOCKED``), so several workers may run the job.

A closed application carries the day its next answer runs out (``data_purge_due_at``, set when
it closes and after each purge): a run reads only the applications due, never every closed one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.case import AuditNote, record_case_change
from civicloom.applications.domain import FINAL_APPLICATION_STATES
from civicloom.applications.tables import ApplicationRow
from civicloom.audit import AuditAction
from civicloom.catalogue import Blueprint, Retention, field_retentions, get_blueprint_version
from civicloom.db import UnitOfWork
from civicloom.kernel import Clock
from civicloom.observability import get_logger

log = get_logger(__name__)
RETENTION_ACTOR = "system:retention"
_FINAL = tuple(s.value for s in FINAL_APPLICATION_STATES)
_closed_at = func.coalesce(ApplicationRow.decided_at, ApplicationRow.updated_at)
"""When an application closed (every final state sets ``decided_at``; older rows may not)."""


@dataclass(frozen=True)
class PurgedFormData:
    """Which answers of which application were removed (names only)."""

    application_id: str
    fields: tuple[str, ...]


class RetentionRules:
    """Each pinned blueprint version's field retentions, read once per run."""

    def __init__(self) -> None:
        self._cache: dict[str, dict[str, Retention]] = {}

    async def of(self, session: AsyncSession, version_id: str) -> dict[str, Retention]:
        """The field retentions of one stored blueprint version."""
        if version_id not in self._cache:
            published = await get_blueprint_version(session, version_id)
            self._cache[version_id] = (
                {} if published is None else field_retentions(published.blueprint)
            )
        return self._cache[version_id]


def expired_fields(
    data: dict[str, object], rules: dict[str, Retention], closed_at: datetime, now: datetime
) -> tuple[str, ...]:
    """The answers whose retention, counted from the closing, has run out by ``now``."""
    return tuple(
        sorted(name for name in data if name in rules and rules[name].after(closed_at) <= now)
    )


def next_purge_due(
    data: dict[str, object], rules: dict[str, Retention], closed_at: datetime, now: datetime
) -> datetime | None:
    """When the next of these answers runs out (strictly after ``now``), or None."""
    ends = [rules[name].after(closed_at) for name in data if name in rules]
    later = [end for end in ends if end > now]
    return min(later) if later else None


def schedule_purge(app: ApplicationRow, blueprint: Blueprint, closed_at: datetime) -> None:
    """When an application closes: the day its first answer runs out (ADR 0058)."""
    retentions = field_retentions(blueprint)
    app.data_purge_due_at = next_purge_due(app.data or {}, retentions, closed_at, closed_at)


async def purge_closed_form_data(
    uow: Callable[[], UnitOfWork], clock: Clock, batch_size: int = 200
) -> list[PurgedFormData]:
    """Remove every answer past its retention from closed applications; audit each removal.

    Idempotent: a removed answer is gone, so a second run finds nothing to do."""
    now = clock.now()
    rules = RetentionRules()
    purged: list[PurgedFormData] = []
    while True:
        async with uow() as work:
            # Only applications whose next answer is due (indexed): each one handled is given
            # its next due date (later than now) or none, so the loop ends and the next run
            # reads nothing it read before.
            query = (
                select(ApplicationRow, _closed_at)
                .where(ApplicationRow.data_purge_due_at <= now)
                .order_by(ApplicationRow.data_purge_due_at, ApplicationRow.id)
                .limit(batch_size)
            )
            if work.is_postgresql:
                query = query.with_for_update(skip_locked=True, of=ApplicationRow)
            rows = [(r[0], r[1]) for r in await work.session.execute(query)]
            if not rows:
                return purged
            for app, closed_at in rows:
                retentions = await rules.of(work.session, app.blueprint_version_id)
                if app.state not in _FINAL:  # reopened or never closed: nothing runs out
                    app.data_purge_due_at = None
                    continue
                fields = expired_fields(app.data or {}, retentions, closed_at, now)
                kept = {k: v for k, v in (app.data or {}).items() if k not in fields}
                app.data_purge_due_at = next_purge_due(kept, retentions, closed_at, now)
                if not fields:
                    continue
                app.data = kept
                await record_case_change(
                    work.session,
                    app,
                    now,
                    audit=AuditNote(
                        actor=RETENTION_ACTOR,
                        action=AuditAction.FORM_DATA_PURGED,
                        details={"fields": list(fields), "closed_at": closed_at.isoformat()},
                        purpose="retention period ended",
                    ),
                )
                purged.append(PurgedFormData(app.id, fields))
                log.info("form_data_purged", application_id=app.id, fields=list(fields))
            await work.commit()
