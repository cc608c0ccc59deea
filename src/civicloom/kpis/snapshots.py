"""KPI report snapshots (ADR 0061, ADR 0082): a request reads one stored report by its primary
key and never computes one.

The worker's periodic job (``refresh_report_snapshots``) recomputes the default period (the
last 90 days) of every published service, so the public performance page and the dashboard's
first view find one warm, and forgets snapshots nobody refreshed for ``KEEP``. A staff request
for a period with no stored report (or a stale one) records the period in
``kpi_period_requests`` (one row per service and period, at most ``PENDING_LIMIT`` per service)
and is answered "being prepared"; the worker's ``compute_requested_periods`` computes them one
at a time, oldest first. The public page never records a period.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from civicloom.catalogue import get_current_blueprint, list_current_blueprints
from civicloom.db import UnitOfWork
from civicloom.kernel import Clock, DomainError, NotFound, Principal
from civicloom.kpis.config import KpiConfig
from civicloom.kpis.domain import KpiReport, KpiScope, report_document, report_of, scoped_report
from civicloom.kpis.services import Period, parse_period, service_kpis, staff_scope
from civicloom.kpis.tables import KpiPeriodRequestRow, KpiReportSnapshotRow

KEEP = timedelta(days=2)
DEFAULT_FALLBACK_DAYS = timedelta(days=2)
"""How far back a stored default window may serve while today's is not stored yet."""
"""Snapshots not regenerated for this long are deleted by the refresh job."""
PENDING_LIMIT = 20
"""At most this many periods of one service wait to be computed; a request for another one
is refused (``PeriodsBusy``) and recorded nowhere."""
REQUEST_KEEP = timedelta(days=1)
"""A waiting period nobody asked for again for this long is forgotten, not computed."""
CLAIM = timedelta(minutes=30)
"""A worker computing a period holds it this long; then another worker may take it over."""
RETRY_SECONDS = 15
"""How long a reader waits before asking again for a period being prepared (``Retry-After``,
the page's refresh)."""
PERIOD_SECONDS = 10.0
"""How often the worker looks for requested periods (its ``kpi-periods`` job)."""
BUDGET_SECONDS = 30.0
"""One run of ``compute_requested_periods`` starts no further period after this long."""

_Key = tuple[str, date, date]


class PeriodsBusy(DomainError):
    """Too many periods of the service are waiting to be computed; nothing was recorded."""

    slug = "kpi-periods-busy"
    title = "Too many periods are being prepared"
    status = 429
    retry_after = 60


@dataclass(frozen=True)
class Snapshot:
    """A stored report and the ETag of its content."""

    report: KpiReport
    etag: str


def key_of(service: str, period: Period) -> _Key:
    """The snapshot key of a service's period: its first and last submission day."""
    return service, period.start.date(), (period.end - timedelta(days=1)).date()


def _is(
    row: type[KpiReportSnapshotRow] | type[KpiPeriodRequestRow], key: _Key
) -> ColumnElement[bool]:
    service, first, last = key
    return and_(row.service == service, row.first_day == first, row.last_day == last)


async def _read(
    uow: UnitOfWork, key: _Key, default_window: bool = False
) -> tuple[Snapshot, datetime] | None:
    """The period's stored report. For the default window (the last 90 days to today) the
    newest stored default window of the last ``DEFAULT_FALLBACK_DAYS`` is served while today's
    is not stored yet: the window moves at UTC midnight, and until the worker's next refresh
    the public page and the dashboard would have nothing (attack review, ADR 0082)."""
    async with uow:
        row = await uow.session.get(KpiReportSnapshotRow, key)
        if row is None and default_window:
            service, first, last = key
            recent = await uow.session.scalars(
                select(KpiReportSnapshotRow)
                .where(
                    KpiReportSnapshotRow.service == service,
                    KpiReportSnapshotRow.last_day < last,
                    KpiReportSnapshotRow.last_day >= last - DEFAULT_FALLBACK_DAYS,
                )
                .order_by(KpiReportSnapshotRow.last_day.desc())
            )
            row = next((r for r in recent if r.last_day - r.first_day == last - first), None)
        if row is None:
            return None
        return Snapshot(report_of(row.report), row.etag), row.generated_at


async def _store(uow: UnitOfWork, key: _Key, report: KpiReport) -> Snapshot:
    """Store the report (replacing the period's older one) and clear the period's request."""
    document = report_document(report)
    etag = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    service, first, last = key
    async with uow:
        await uow.session.execute(
            delete(KpiReportSnapshotRow).where(_is(KpiReportSnapshotRow, key))
        )
        await uow.session.execute(delete(KpiPeriodRequestRow).where(_is(KpiPeriodRequestRow, key)))
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


async def request_period(uow: UnitOfWork, clock: Clock, key: _Key) -> None:
    """Record that someone wants the period's report (once per period: asking again only
    notes when); ``PeriodsBusy`` when ``PENDING_LIMIT`` other periods of the service wait."""
    now = clock.now()
    async with uow:
        seen = await uow.session.execute(
            update(KpiPeriodRequestRow).where(_is(KpiPeriodRequestRow, key)).values(seen_at=now)
        )
        if seen.rowcount:  # type: ignore[attr-defined]
            await uow.commit()
            return
        if uow.is_postgresql:  # one count-then-insert per service at a time: the cap holds
            await uow.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext('kpi-periods:' || :service))"),
                {"service": key[0]},
            )
        pending = await uow.session.scalar(
            select(func.count()).where(KpiPeriodRequestRow.service == key[0])
        )
        if (pending or 0) >= PENDING_LIMIT:
            raise PeriodsBusy(
                f"{PENDING_LIMIT} periods of {key[0]!r} are being prepared; try again later"
            )
        service, first, last = key
        uow.session.add(
            KpiPeriodRequestRow(
                service=service, first_day=first, last_day=last, requested_at=now, seen_at=now
            )
        )
        with contextlib.suppress(IntegrityError):  # asked at the same moment by someone else
            await uow.commit()


async def report_snapshot(
    uow: UnitOfWork, service: str, period: Period, default_window: bool = False
) -> Snapshot | None:
    """The service's stored report over the period, however old (its ``generated_at`` says
    when), or None: never computed here, nothing recorded (``NotFound`` for a service that is
    not published and has no stored report). ``default_window``: see ``_read``."""
    found = await _read(uow, key_of(service, period), default_window)
    if found is not None:
        return found[0]
    async with uow:
        if await get_current_blueprint(uow.session, service) is None:
            raise NotFound(f"no published service {service!r}")
    return None


async def staff_snapshot(
    uow: UnitOfWork,
    clock: Clock,
    service: str,
    period: Period,
    principal: Principal,
    max_age: float,
) -> tuple[Snapshot | None, KpiScope]:
    """The stored report limited to what ``principal`` may see (``staff_kpis``'s rule; the
    ETag then also names the scope), or None with the period recorded for the worker. A report
    older than ``max_age`` seconds is served and its period recorded to be recomputed (unless
    ``PENDING_LIMIT`` periods already wait); a missing one beyond the limit is ``PeriodsBusy``."""
    scope = await staff_scope(uow, service, principal)
    key = key_of(service, period)
    default = key == key_of(service, parse_period(clock, None, None))
    found = await _read(uow, key, default_window=default)
    if found is None:
        await request_period(uow, clock, key)
        return None, scope
    snapshot, generated_at = found
    if generated_at < clock.now() - timedelta(seconds=max_age):
        with contextlib.suppress(PeriodsBusy):
            await request_period(uow, clock, key)
    etag = f"{snapshot.etag}:{scope.department or '*'}"
    return Snapshot(scoped_report(snapshot.report, scope), etag), scope


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


async def _claim(uow: UnitOfWork, clock: Clock) -> _Key | None:
    """Take the oldest waiting period no other worker is computing."""
    now = clock.now()
    free = or_(
        KpiPeriodRequestRow.claimed_at.is_(None), KpiPeriodRequestRow.claimed_at < now - CLAIM
    )
    async with uow:
        rows = await uow.session.execute(
            select(
                KpiPeriodRequestRow.service,
                KpiPeriodRequestRow.first_day,
                KpiPeriodRequestRow.last_day,
            )
            .where(free)
            .order_by(
                KpiPeriodRequestRow.requested_at,
                KpiPeriodRequestRow.service,
                KpiPeriodRequestRow.first_day,
                KpiPeriodRequestRow.last_day,
            )
            .limit(5)
        )
        for service, first, last in rows.all():
            key = (service, first, last)
            taken = await uow.session.execute(
                update(KpiPeriodRequestRow)
                .where(_is(KpiPeriodRequestRow, key), free)
                .values(claimed_at=now)
            )
            if taken.rowcount:  # type: ignore[attr-defined]
                await uow.commit()
                return key
    return None


async def compute_requested_periods(
    uow: UnitOfWork, clock: Clock, config: KpiConfig, budget: float = BUDGET_SECONDS
) -> int:
    """Forget periods nobody asked for within ``REQUEST_KEEP``, then compute and store the
    waiting ones one at a time, oldest first, starting none after ``budget`` seconds; how many
    were stored."""
    async with uow:
        await uow.session.execute(
            delete(KpiPeriodRequestRow).where(
                KpiPeriodRequestRow.seen_at < clock.now() - REQUEST_KEEP
            )
        )
        await uow.commit()
    started = time.monotonic()
    stored = 0
    while (key := await _claim(uow, clock)) is not None:
        service, first, last = key
        try:
            report = await service_kpis(uow, clock, config, service, Period.of_days(first, last))
        except NotFound:  # the service was withdrawn meanwhile
            async with uow:
                await uow.session.execute(
                    delete(KpiPeriodRequestRow).where(_is(KpiPeriodRequestRow, key))
                )
                await uow.commit()
            continue
        await _store(uow, key, report)
        stored += 1
        if time.monotonic() - started > budget:
            break
    return stored
