"""KPI aggregates (ADR 0054): what the public statistics read instead of recomputing a KPI report
per request.

``refresh_service_days`` (a worker's periodic job) finds the applications changed since its
watermark and recounts, for each (service, submission day) they touch, how many applications
are in each state; a day nobody touched is never recounted. ``service_day_counts`` sums a
period's rows. Figures are as fresh as the job's last run (``kpi_refresh_seconds``). Safe when
two workers run it at once: both recount the same days to the same numbers; a conflicting
insert rolls one back and its next run catches up.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from civicloom.applications import changed_service_days, state_counts_submitted_between
from civicloom.db import UnitOfWork
from civicloom.kpis.tables import AggregateWatermarkRow, ServiceDayStateRow

WATERMARK = "service-day-states"
REFRESH_SECONDS = 60.0
"""How often the worker recounts (the statistics' figures lag by at most this, plus a run)."""


def _day_of(at: datetime) -> date:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).date()


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


async def refresh_service_days(uow: UnitOfWork) -> int:
    """Recount the (service, day) pairs whose applications changed since the last run; how
    many pairs were recounted."""
    async with uow:
        session = uow.session
        mark = await session.get(AggregateWatermarkRow, WATERMARK)
        since = mark.changed_upto if mark is not None else None
        changed, newest = await changed_service_days(session, since)
        touched = sorted({(service, _day_of(at)) for service, at in changed})
        for service, day in touched:
            start = _start_of(day)
            counts = await state_counts_submitted_between(
                session, service, start, start + timedelta(days=1)
            )
            await session.execute(
                delete(ServiceDayStateRow).where(
                    ServiceDayStateRow.service == service, ServiceDayStateRow.day == day
                )
            )
            session.add_all(
                ServiceDayStateRow(service=service, day=day, state=state, count=count)
                for state, count in counts.items()
            )
        if newest is not None:
            if mark is None:
                session.add(AggregateWatermarkRow(name=WATERMARK, changed_upto=newest))
            else:
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
