"""KPI aggregates (ADR 0054): what the public statistics read instead of recomputing a KPI report
per request.

``refresh_service_days`` (a worker's periodic job) finds the (service, submission day) pairs
whose applications changed since its watermark (grouped by the database, by an index on
``updated_at``) and recounts, for each, how many applications are in each state; a day nobody
touched is never recounted. The recount goes in batches of at most ``RECOUNT_DAYS`` consecutive
days of one service, each one statement and its own transaction, and the watermark moves only
after the last batch (ADR 0066): the first run after a million seeded applications holds days,
not applications, in memory, and a run cut short is redone whole by the next (a recount is
exact, so doing a day twice is harmless). ``service_day_counts`` sums a period's rows. Figures
are as fresh as the job's last run (``kpi_refresh_seconds``). Safe when two workers run it at
once: both recount the same days to the same numbers; a conflicting insert rolls one back and
its next run catches up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from civicloom.applications import changed_service_days, state_counts_by_submission_day
from civicloom.db import UnitOfWork
from civicloom.kpis.tables import AggregateWatermarkRow, ServiceDayStateRow

WATERMARK = "service-day-states"
REFRESH_SECONDS = 60.0
"""How often the worker recounts (the statistics' figures lag by at most this, plus a run)."""
RECOUNT_DAYS = 31
#: how far back of the watermark each run reads again: ``updated_at`` is stamped before its
#: transaction commits, so a change stamped before the watermark may commit after a run read
#: past it (a long transaction, a slow host); recounting a day is exact, so reading twice is
#: harmless and reading late never loses a change younger than this (attack review)
COMMIT_OVERLAP = timedelta(minutes=10)
"""The most consecutive submission days one recount statement (and transaction) covers."""


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def recount_batches(
    touched: Iterable[tuple[str, date]], days: int = RECOUNT_DAYS
) -> Iterator[tuple[str, date, date]]:
    """The touched pairs as (service, first day, last day) runs spanning at most ``days`` days
    each, by service then day; a run may cover untouched days between touched ones."""
    run: tuple[str, date, date] | None = None
    for service, day in sorted(touched):
        if run is not None and run[0] == service and (day - run[1]).days < days:
            run = (service, run[1], day)
            continue
        if run is not None:
            yield run
        run = (service, day, day)
    if run is not None:
        yield run


async def refresh_service_days(uow: UnitOfWork, days: int = RECOUNT_DAYS) -> int:
    """Recount the (service, day) pairs whose applications changed since the last run, in
    batches of consecutive days; how many pairs were recounted (0 when a concurrent run won)."""
    async with uow:
        mark = await uow.session.get(AggregateWatermarkRow, WATERMARK)
        since = mark.changed_upto - COMMIT_OVERLAP if mark is not None else None
        touched, newest = await changed_service_days(uow.session, since)
    for service, first, last in recount_batches(touched, days):
        async with uow:
            session = uow.session
            counts = await state_counts_by_submission_day(
                session, service, _start_of(first), _start_of(last) + timedelta(days=1)
            )
            await session.execute(
                delete(ServiceDayStateRow).where(
                    ServiceDayStateRow.service == service,
                    ServiceDayStateRow.day >= first,
                    ServiceDayStateRow.day <= last,
                )
            )
            session.add_all(
                ServiceDayStateRow(service=service, day=day, state=state, count=count)
                for day, states in counts.items()
                for state, count in states.items()
            )
            try:
                await uow.commit()
            except IntegrityError:
                return 0
    if newest is None:
        return len(touched)
    async with uow:
        mark = await uow.session.get(AggregateWatermarkRow, WATERMARK)
        if mark is None:
            uow.session.add(AggregateWatermarkRow(name=WATERMARK, changed_upto=newest))
        elif mark.changed_upto < newest:
            mark.changed_upto = newest
        try:
            await uow.commit()
        except IntegrityError:
            return 0
    return len(touched)


async def service_day_counts(
    uow: UnitOfWork, service: str, first: date, last: date
) -> Counter[str]:
    """Applications of a service submitted in ``[first, last]`` per current state, summed from
    the aggregate rows (one statement)."""
    async with uow:
        rows = await uow.session.execute(
            select(ServiceDayStateRow.state, func.sum(ServiceDayStateRow.count))
            .where(ServiceDayStateRow.service == service)
            .where(ServiceDayStateRow.day >= first)
            .where(ServiceDayStateRow.day <= last)
            .group_by(ServiceDayStateRow.state)
        )
        return Counter({str(state): int(total or 0) for state, total in rows.all()})
