"""Retention of published events (ADR 0057): a worker job deletes events older than
``pubsub_retention_days`` with their deliveries, once nothing can still be handed over — every
delivery ended, or the event is older than the longest TTL a subscription may have. Each run
that deletes something writes one audit entry with the counts (never the payloads)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, exists, or_, select

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.govstack.pubsub.domain import MAX_TTL_SECONDS, OPEN
from civicloom.govstack.pubsub.tables import DeliveryRow, PublishedEventRow
from civicloom.runtime import Container

BATCH = 1000
"""Events deleted per transaction: a long backlog is purged over several short ones."""


async def purge_old_events(container: Container, retention_days: int) -> int:
    """Delete events published more than ``retention_days`` ago that nothing waits for, and
    their deliveries; the number of events deleted."""
    now = container.clock.now()
    cutoff = now - timedelta(days=retention_days)
    past_every_ttl = now - timedelta(seconds=MAX_TTL_SECONDS)
    still_open = exists().where(
        DeliveryRow.event_id == PublishedEventRow.id,
        DeliveryRow.status.in_([s.value for s in OPEN]),
    )
    total = 0
    while True:
        async with container.uow() as uow:
            ids = list(
                await uow.session.scalars(
                    select(PublishedEventRow.id)
                    .where(
                        PublishedEventRow.published_at < cutoff,
                        or_(PublishedEventRow.published_at < past_every_ttl, ~still_open),
                    )
                    .order_by(PublishedEventRow.sequence)
                    .limit(BATCH)
                )
            )
            if not ids:
                return total
            gone = await uow.session.execute(
                delete(DeliveryRow).where(DeliveryRow.event_id.in_(ids))
            )
            await uow.session.execute(
                delete(PublishedEventRow).where(PublishedEventRow.id.in_(ids))
            )
            await append_audit(
                uow.session,
                AuditRecord(
                    actor="system:pubsub",
                    action=AuditAction.PUBSUB_PURGED,
                    subject_type="pubsub_events",
                    subject_id=f"before {cutoff.date().isoformat()}",
                    occurred_at=now,
                    details={
                        "events": len(ids),
                        "deliveries": int(getattr(gone, "rowcount", 0) or 0),
                        "retention_days": retention_days,
                    },
                ),
            )
            await uow.commit()
            total += len(ids)
