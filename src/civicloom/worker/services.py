"""The workers' heartbeats and what they know of the departments' systems (the tables stay
private to this module, ADR 0027; breakers and probes shared through them, ADR 0062)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.worker.domain import HEARTBEAT_STALE, ConnectorReport, ConnectorState, Heartbeat
from civicloom.worker.tables import WorkerConnectorStateRow, WorkerHeartbeatRow


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


_SEVERITY = {"closed": 0, "half_open": 1, "open": 2}


async def record_connector_reports(
    session: AsyncSession, worker_id: str, now: datetime, reports: list[ConnectorReport]
) -> None:
    """Store what this worker knows of each department's system (in the heartbeat's
    transaction; one row per worker and department, replaced)."""
    for report in reports:
        row = await session.get(WorkerConnectorStateRow, (worker_id, report.department))
        if row is None:
            row = WorkerConnectorStateRow(worker_id=worker_id, department=report.department)
            session.add(row)
        row.breaker_state = report.breaker_state
        row.consecutive_failures = report.consecutive_failures
        row.retry_at = report.retry_at
        row.kind = report.kind
        row.healthy = report.healthy
        row.detail = report.detail[:500] if report.detail else report.detail
        row.latency_ms = report.latency_ms
        row.checked_at = report.checked_at
        row.reported_at = now


async def connector_states(session: AsyncSession, now: datetime) -> list[ConnectorState]:
    """Each department's system as the live workers report it (one statement): a worker
    silent for ``HEARTBEAT_STALE`` no longer counts, whatever it said last."""
    rows = (
        await session.execute(
            select(WorkerConnectorStateRow)
            .join(
                WorkerHeartbeatRow,
                WorkerHeartbeatRow.worker_id == WorkerConnectorStateRow.worker_id,
            )
            .where(WorkerHeartbeatRow.seen_at >= now - HEARTBEAT_STALE)
            .order_by(WorkerConnectorStateRow.department, WorkerConnectorStateRow.worker_id)
        )
    ).scalars()
    by_department: dict[str, list[WorkerConnectorStateRow]] = {}
    for row in rows:
        by_department.setdefault(row.department, []).append(row)
    states = []
    for department, reports in by_department.items():
        worst = max(reports, key=lambda r: _SEVERITY.get(r.breaker_state, 0))
        probed = [r for r in reports if r.checked_at is not None]
        latest = max(probed, key=lambda r: r.checked_at or now) if probed else None
        states.append(
            ConnectorState(
                department=department,
                breaker=worst.breaker_state,
                open_on=sum(1 for r in reports if r.breaker_state != "closed"),
                reporting=len(reports),
                consecutive_failures=max(r.consecutive_failures for r in reports),
                retry_at=worst.retry_at,
                kind=latest.kind if latest else None,
                healthy=latest.healthy if latest else None,
                detail=latest.detail if latest else None,
                latency_ms=latest.latency_ms if latest else None,
                checked_at=latest.checked_at if latest else None,
            )
        )
    return states


async def opened_elsewhere(
    session: AsyncSession, worker_id: str, now: datetime
) -> dict[str, datetime]:
    """Departments whose breaker another live worker opened on its own failures, with when
    that worker will try again. A breaker held open only because of another worker reports no
    failures and is left out, so two workers never keep each other open."""
    rows = await session.execute(
        select(WorkerConnectorStateRow.department, WorkerConnectorStateRow.retry_at)
        .join(
            WorkerHeartbeatRow,
            WorkerHeartbeatRow.worker_id == WorkerConnectorStateRow.worker_id,
        )
        .where(
            WorkerHeartbeatRow.seen_at >= now - HEARTBEAT_STALE,
            WorkerConnectorStateRow.worker_id != worker_id,
            WorkerConnectorStateRow.breaker_state == "open",
            WorkerConnectorStateRow.consecutive_failures > 0,
            WorkerConnectorStateRow.retry_at > now,
        )
    )
    found: dict[str, datetime] = {}
    for department, retry_at in rows:
        if retry_at is not None and (department not in found or retry_at > found[department]):
            found[department] = retry_at
    return found


async def purge_stale_heartbeats(session: AsyncSession, before: datetime) -> int:
    """Delete the heartbeats of workers last seen before ``before`` (processes long gone), with
    what those workers last reported of the departments' systems; how many heartbeats were
    deleted."""
    gone = select(WorkerHeartbeatRow.worker_id).where(WorkerHeartbeatRow.seen_at < before)
    await session.execute(
        delete(WorkerConnectorStateRow).where(WorkerConnectorStateRow.worker_id.in_(gone))
    )
    result = await session.execute(
        delete(WorkerHeartbeatRow).where(WorkerHeartbeatRow.seen_at < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)
