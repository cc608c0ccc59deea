"""Operational records past their use are purged by a worker job (issue 23): sent outbox
messages older than a week, expired sessions, heartbeats of workers silent for a week; pending
and dead messages, live sessions and running workers stay; each run is audited as a count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from civicloom.audit.tables import AuditEntryRow
from civicloom.identity.tables import SessionRow
from civicloom.kernel import FixedClock
from civicloom.outbox.tables import OutboxRow
from civicloom.runtime import Container
from civicloom.worker import RecordRetention, purge_operational_records
from civicloom.worker.tables import WorkerConnectorStateRow, WorkerHeartbeatRow

NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _message(key: str, created: datetime, sent: datetime | None, dead: bool = False) -> OutboxRow:
    return OutboxRow(
        topic="application.submitted",
        key=key,
        payload={"reference": key},
        created_at=created,
        available_at=created,
        attempts=1,
        dispatched_at=sent,
        dead_at=created if dead else None,
    )


def _session(sid: str, expires: datetime) -> SessionRow:
    return SessionRow(
        id=sid,
        subject="alice",
        display_name="Alice Chen",
        roles=["citizen"],
        department=None,
        mandates=[],
        authenticated_by="dev-login",
        created_at=expires - DAY,
        last_seen_at=expires - DAY,
        expires_at=expires,
    )


def _report(worker: str, seen: datetime) -> WorkerConnectorStateRow:
    return WorkerConnectorStateRow(
        worker_id=worker,
        department="tax",
        breaker_state="open",
        consecutive_failures=3,
        reported_at=seen,
    )


def _beat(worker: str, seen: datetime) -> WorkerHeartbeatRow:
    return WorkerHeartbeatRow(worker_id=worker, host="h1", pid=1, started_at=seen, seen_at=seen)


async def _count(container: Container, column: object, *where: object) -> int:
    async with container.uow() as uow:
        return int(await uow.session.scalar(select(func.count(column)).where(*where)) or 0)  # type: ignore[arg-type]


async def test_purges_what_is_past_its_use_and_keeps_the_rest(container: Container) -> None:
    async with container.uow() as uow:
        uow.session.add_all(
            [
                _message("sent-long-ago-1", NOW - 9 * DAY, NOW - 9 * DAY),
                _message("sent-long-ago-2", NOW - 8 * DAY, NOW - 8 * DAY),
                _message("sent-yesterday", NOW - DAY, NOW - DAY),
                _message("never-sent", NOW - 30 * DAY, None),
                _message("dead", NOW - 30 * DAY, None, dead=True),
                _session("expired", NOW - timedelta(minutes=1)),
                _session("live", NOW + timedelta(hours=1)),
                _beat("gone", NOW - 8 * DAY),
                _beat("running", NOW - timedelta(seconds=5)),
                _report("gone", NOW - 8 * DAY),
                _report("running", NOW - timedelta(seconds=5)),
            ]
        )
        await uow.commit()
    keys_before = await _count(container, OutboxRow.id)

    counts = await purge_operational_records(
        container.uow, FixedClock(NOW), RecordRetention(), batch=1
    )

    assert counts == {"outbox_messages": 2, "identity_sessions": 1, "worker_heartbeats": 1}
    assert await _count(container, OutboxRow.id) == keys_before - 2
    for kept in ("sent-yesterday", "never-sent", "dead"):
        assert await _count(container, OutboxRow.id, OutboxRow.key == kept) == 1
    assert await _count(container, SessionRow.id, SessionRow.id == "live") == 1
    assert await _count(container, SessionRow.id, SessionRow.id == "expired") == 0
    assert await _count(container, WorkerHeartbeatRow.worker_id) == 1
    # what the gone worker last said of the tax system goes with it; the running one's stays
    assert await _count(container, WorkerConnectorStateRow.worker_id) == 1
    assert (
        await _count(
            container,
            WorkerConnectorStateRow.worker_id,
            WorkerConnectorStateRow.worker_id == "running",
        )
        == 1
    )
    async with container.uow() as uow:
        audited = (
            await uow.session.execute(
                select(AuditEntryRow.subject_id, AuditEntryRow.details, AuditEntryRow.actor)
                .where(AuditEntryRow.action == "records.purged")
                .order_by(AuditEntryRow.subject_id)
            )
        ).all()
    assert [tuple(a) for a in audited] == [
        ("identity_sessions", {"count": 1}, "system:retention"),
        ("outbox_messages", {"count": 2}, "system:retention"),
        ("worker_heartbeats", {"count": 1}, "system:retention"),
    ]

    again = await purge_operational_records(container.uow, FixedClock(NOW), RecordRetention())
    assert again == {"outbox_messages": 0, "identity_sessions": 0, "worker_heartbeats": 0}
    async with container.uow() as uow:
        entries = await uow.session.scalar(
            select(func.count()).where(AuditEntryRow.action == "records.purged")
        )
    assert entries == 3  # a run that deleted nothing records nothing
