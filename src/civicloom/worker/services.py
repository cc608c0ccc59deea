"""Reading the workers' heartbeats (the table stays private to this module, ADR 0027)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.worker.domain import HEARTBEAT_STALE, Heartbeat
from civicloom.worker.tables import WorkerHeartbeatRow


async def list_heartbeats(
    session: AsyncSession, now: datetime, limit: int = 100
) -> list[Heartbeat]:
    """Worker processes, most recently seen first (one statement)."""
    rows = await session.scalars(
        select(WorkerHeartbeatRow).order_by(WorkerHeartbeatRow.seen_at.desc()).limit(limit)
    )
    return [
        Heartbeat(
            worker_id=r.worker_id,
            host=r.host,
            pid=r.pid,
            started_at=r.started_at,
            seen_at=r.seen_at,
            alive=now - r.seen_at <= HEARTBEAT_STALE,
        )
        for r in rows
    ]


async def purge_stale_heartbeats(session: AsyncSession, before: datetime) -> int:
    """Delete the heartbeats of workers last seen before ``before`` (processes long gone); how
    many were deleted."""
    result = await session.execute(
        delete(WorkerHeartbeatRow).where(WorkerHeartbeatRow.seen_at < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)
