"""Purging operational records past their use (issue 23): outbox messages sent long ago,
expired sessions and the heartbeats of workers long gone. Each table is deleted in batches,
one transaction per batch (no long lock on a request path), and each run is audited as a
count per table, never a row per deleted record (drafts and answers, which are personal data,
keep their per-record entries: ``portal.retention``, ADR 0050)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.db import UnitOfWork
from civicloom.identity import purge_expired_sessions
from civicloom.kernel import Clock
from civicloom.outbox import purge_sent
from civicloom.worker.services import purge_stale_heartbeats

ACTOR = "system:retention"
BATCH = 5000


@dataclass(frozen=True)
class RecordRetention:
    """How long sent outbox messages and silent workers' heartbeats are kept."""

    sent_messages: timedelta = timedelta(days=7)
    heartbeats: timedelta = timedelta(days=7)


async def purge_operational_records(
    uow: Callable[[], UnitOfWork], clock: Clock, keep: RecordRetention, batch: int = BATCH
) -> dict[str, int]:
    """Delete what ``keep`` no longer keeps; how many rows per table (audited when any)."""
    now = clock.now()
    counts = {"outbox_messages": 0, "identity_sessions": 0, "worker_heartbeats": 0}
    while True:
        async with uow() as work:
            done = await purge_sent(work.session, now - keep.sent_messages, batch)
            await work.commit()
        counts["outbox_messages"] += done
        if done < batch:
            break
    counts["identity_sessions"] = await purge_expired_sessions(uow(), now, batch)
    async with uow() as work:
        counts["worker_heartbeats"] = await purge_stale_heartbeats(
            work.session, now - keep.heartbeats
        )
        for table, count in counts.items():
            if count:
                await append_audit(
                    work.session,
                    AuditRecord(
                        actor=ACTOR,
                        action=AuditAction.RECORDS_PURGED,
                        subject_type="table",
                        subject_id=table,
                        occurred_at=now,
                        purpose="no longer needed to run the platform",
                        details={"count": count},
                    ),
                )
        await work.commit()
    return counts
