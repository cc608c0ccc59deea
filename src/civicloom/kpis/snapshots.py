"""KPI report snapshots (ADR 0061): a request reads one stored report by its primary key
instead of recounting a period's applications.

A service's report over a period is computed at most once per ``max_age`` seconds (per key and
process: concurrent requests for a missing or stale snapshot wait for one computation, not one
each) and stored with an ETag over its content. The worker's periodic job
(``refresh_report_snapshots``) recomputes the default period (the last 90 days) of every
published service, so the public performance page and the dashboard's first view find one warm,
and forgets snapshots nobody refreshed for ``KEEP`` (custom dashboard periods).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from civicloom.catalogue import list_current_blueprints
from civicloom.db import UnitOfWork
from civicloom.kernel import Clock, Principal
from civicloom.kpis.config import KpiConfig
from civicloom.kpis.domain import KpiReport, KpiScope, report_document, report_of, scoped_report
from civicloom.kpis.services import Period, parse_period, service_kpis, staff_scope
from civicloom.kpis.tables import KpiReportSnapshotRow

KEEP = timedelta(days=2)
"""Snapshots not regenerated for this long are deleted by the refresh job."""

_Key = tuple[str, date, date]
_locks: dict[_Key, asyncio.Lock] = {}


@dataclass(frozen=True)
class Snapshot:
    """A stored report and the ETag of its content."""

    report: KpiReport
    etag: str


def key_of(service: str, period: Period) -> _Key:
    """The snapshot key of a service's period: its first and last submission day."""
    return service, period.start.date(), (period.end - timedelta(days=1)).date()


async def _read(uow: UnitOfWork, key: _Key) -> tuple[Snapshot, datetime] | None:
    async with uow:
        row = await uow.session.get(KpiReportSnapshotRow, key)
        if row is None:
            return None
        return Snapshot(report_of(row.report), row.etag), row.generated_at


async def _store(uow: UnitOfWork, key: _Key, report: KpiReport) -> Snapshot:
    document = report_document(report)
    etag = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    service, first, last = key
    async with uow:
        await uow.session.execute(
            delete(KpiReportSnapshotRow).where(
                KpiReportSnapshotRow.service == service,
                KpiReportSnapshotRow.first_day == first,
                KpiReportSnapshotRow.last_day == last,
            )
        )
        uow.session.add(
            KpiReportSnapshotRow(
                service=service,
                first_day=first,
                last_day=last,
                generated_at=report.generated_at,
                etag=etag,
                report=document,
            )
        )
        # Another process storing the same period meanwhile: its figures serve as well.
        with contextlib.suppress(IntegrityError):
            await uow.commit()
    return Snapshot(report, etag)


async def report_snapshot(
    uow: UnitOfWork,
    clock: Clock,
    config: KpiConfig,
    service: str,
    period: Period,
    max_age: float,
) -> Snapshot:
    """The service's report over the period, as stored if computed within ``max_age`` seconds,
    else computed now and stored (``NotFound`` for a service that is not published)."""
    key = key_of(service, period)

    def fresh(found: tuple[Snapshot, datetime] | None) -> Snapshot | None:
        if found is None or found[1] < clock.now() - timedelta(seconds=max_age):
            return None
        return found[0]

    hit = fresh(await _read(uow, key))
    if hit is not None:
        return hit
    lock = _locks.setdefault(key, asyncio.Lock())
    try:
        async with lock:
            hit = fresh(await _read(uow, key))  # computed by the request we waited for
            if hit is not None:
                return hit
            report = await service_kpis(uow, clock, config, service, period)
            return await _store(uow, key, report)
    finally:
        if not lock.locked():
            _locks.pop(key, None)


async def refresh_report_snapshots(uow: UnitOfWork, clock: Clock, config: KpiConfig) -> int:
    """Recompute the default period's report of every published service and forget snapshots
    older than ``KEEP``; how many reports were computed."""
    async with uow:
        services = sorted(p.blueprint.id for p in await list_current_blueprints(uow.session))
    period = parse_period(clock, None, None)
    for service in services:
        await _store(
            uow, key_of(service, period), await service_kpis(uow, clock, config, service, period)
        )
    async with uow:
        await uow.session.execute(
            delete(KpiReportSnapshotRow).where(
                KpiReportSnapshotRow.generated_at < clock.now() - KEEP
            )
        )
        await uow.commit()
    return len(services)


async def staff_snapshot(
    uow: UnitOfWork,
    clock: Clock,
    config: KpiConfig,
    service: str,
    period: Period,
    principal: Principal,
    max_age: float,
) -> tuple[Snapshot, KpiScope]:
    """``report_snapshot`` limited to what ``principal`` may see (``staff_kpis``'s rule); the
    ETag then also names the scope."""
    scope = await staff_scope(uow, service, principal)
    found = await report_snapshot(uow, clock, config, service, period, max_age)
    etag = f"{found.etag}:{scope.department or '*'}"
    return Snapshot(scoped_report(found.report, scope), etag), scope
