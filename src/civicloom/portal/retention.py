"""Retention of application drafts (ADR 0050).

A draft holds answers the applicant has not submitted (or submitted: the application keeps
its own copy). It is deleted when the data catalogue's draft retention
(``blueprints/data-catalogue.yaml``, ``drafts.retention``) has passed since its last change,
and each deletion is audited (``draft.purged``, naming the draft and its service, never its
answers). Batches are short transactions; on PostgreSQL drafts another worker is deleting are
skipped (``SKIP LOCKED``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.catalogue import Retention
from civicloom.db import UnitOfWork
from civicloom.kernel import Clock
from civicloom.observability import get_logger
from civicloom.portal.tables import DraftRow

log = get_logger(__name__)
RETENTION_ACTOR = "system:retention"


@dataclass(frozen=True)
class PurgedDraft:
    """A deleted draft (ids only)."""

    id: str
    service_id: str
    application_id: str | None


async def purge_expired_drafts(
    uow: Callable[[], UnitOfWork], clock: Clock, retention: Retention, batch_size: int = 200
) -> list[PurgedDraft]:
    """Delete every draft unchanged for longer than ``retention``; audit each deletion."""
    now = clock.now()
    changed_before = retention.started_before(now)
    purged: list[PurgedDraft] = []
    while True:
        async with uow() as work:
            query = (
                select(DraftRow)
                .where(DraftRow.updated_at <= changed_before)
                .order_by(DraftRow.id)
                .limit(batch_size)
            )
            if work.is_postgresql:
                query = query.with_for_update(skip_locked=True)
            rows = list(await work.session.scalars(query))
            if not rows:
                return purged
            for row in rows:
                await work.session.delete(row)
                await append_audit(
                    work.session,
                    AuditRecord(
                        actor=RETENTION_ACTOR,
                        action=AuditAction.DRAFT_PURGED,
                        subject_type="draft",
                        subject_id=row.id,
                        occurred_at=now,
                        purpose="retention period ended",
                        details={
                            "service": row.service_id,
                            "application_id": row.application_id,
                            "last_changed": row.updated_at.isoformat(),
                        },
                    ),
                )
                purged.append(PurgedDraft(row.id, row.service_id, row.application_id))
                log.info("draft_purged", draft_id=row.id, service=row.service_id)
            await work.commit()
