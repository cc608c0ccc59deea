"""The KPI aggregates' job after a big seed (issue 23, ADR 0066): the changed (service, day)
pairs are grouped by the database and recounted in batches of consecutive days, each its own
transaction; the watermark moves only after the last batch, so a run cut short is redone whole
and the figures come out the same whatever the batch size."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import text, update

from civicloom.applications.tables import ApplicationRow
from civicloom.demo import seed_applications
from civicloom.kpis import aggregates, refresh_service_days, service_day_counts
from civicloom.kpis.aggregates import recount_batches
from civicloom.runtime import Container

RST, CBA = "open-a-restaurant", "change-of-business-address"


def test_touched_days_become_runs_of_at_most_the_batch_span() -> None:
    touched = {
        (RST, date(2026, 1, 1)),
        (RST, date(2026, 1, 3)),
        (RST, date(2026, 1, 7)),  # 6 days after the run's first: still inside a 7-day run
        (RST, date(2026, 1, 8)),  # 7 days after: a new run
        (RST, date(2026, 3, 1)),
        (CBA, date(2026, 1, 2)),
    }
    assert list(recount_batches(touched, 7)) == [
        (CBA, date(2026, 1, 2), date(2026, 1, 2)),
        (RST, date(2026, 1, 1), date(2026, 1, 7)),
        (RST, date(2026, 1, 8), date(2026, 1, 8)),
        (RST, date(2026, 3, 1), date(2026, 3, 1)),
    ]
    assert list(recount_batches(set(), 7)) == []


async def _watermark(container: Container) -> list[tuple[object, ...]]:
    async with container.uow() as uow:
        found = await uow.session.execute(text("SELECT name FROM kpi_watermarks"))
        return [tuple(row) for row in found.all()]


async def _totals(container: Container) -> dict[str, dict[str, int]]:
    now = container.clock.now().date()
    return {
        service: dict(
            await service_day_counts(container.uow(), service, now - timedelta(days=800), now)
        )
        for service in (RST, CBA)
    }


SEEDED = {
    RST: {"approved": 110, "in_progress": 20, "rejected": 10, "withdrawn": 10},
    CBA: {"approved": 30, "in_progress": 10, "rejected": 10},
}


async def test_a_run_cut_short_keeps_its_watermark_and_the_next_recounts_it_all(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_applications(container, 200, progress=lambda _: None)
    real = aggregates.state_counts_by_submission_day  # type: ignore[attr-defined]
    calls = 0

    async def fails_on_the_third_batch(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise ConnectionError("the database went away mid-run")
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(aggregates, "state_counts_by_submission_day", fails_on_the_third_batch)
    with pytest.raises(ConnectionError):
        await refresh_service_days(container.uow(), days=31)
    assert calls == 3
    assert await _watermark(container) == []  # not moved: the next run starts over
    partial = await _totals(container)
    assert sum(map(sum, (d.values() for d in partial.values()))) < 200  # two batches stored

    monkeypatch.setattr(aggregates, "state_counts_by_submission_day", real)
    touched = await refresh_service_days(container.uow(), days=31)
    assert touched > 100  # 200 applications over two years: most on a day of their own
    assert await _watermark(container) == [("service-day-states",)]
    assert await _totals(container) == SEEDED


async def test_batch_size_changes_nothing_and_later_runs_read_only_what_changed(
    container: Container,
) -> None:
    await seed_applications(container, 200, progress=lambda _: None)
    one_day = await refresh_service_days(container.uow(), days=1)
    assert await _totals(container) == SEEDED
    # seeded rows were all written at the watermark's instant: counted again (inclusive)
    assert await refresh_service_days(container.uow(), days=366) == one_day
    assert await _totals(container) == SEEDED

    later = container.clock.now() + timedelta(minutes=20)  # past the 10 minutes read again
    async with container.uow() as uow:  # application 1: an approved restaurant, withdrawn
        await uow.session.execute(
            update(ApplicationRow)
            .where(ApplicationRow.id == "seed-000000000001")
            .values(state="withdrawn", updated_at=later)
        )
        await uow.commit()
    # the watermark is still the seed's instant: everything once more, the change included
    assert await refresh_service_days(container.uow()) == one_day
    assert await _totals(container) == {
        RST: {"approved": 109, "in_progress": 20, "rejected": 10, "withdrawn": 11},
        CBA: {"approved": 30, "in_progress": 10, "rejected": 10},
    }
    assert await refresh_service_days(container.uow()) == 1  # past the seed: its day alone


async def test_a_change_committed_after_a_run_read_past_its_stamp_is_still_counted(
    container: Container,
) -> None:
    """``updated_at`` is stamped before commit: a change stamped 5 minutes before the watermark
    but committed after the run that set it is read by the next run (10 minutes overlap)."""
    await seed_applications(container, 200, progress=lambda _: None)
    stamped = container.clock.now() + timedelta(minutes=20)
    async with container.uow() as uow:  # application 1 rejected, committed at once
        await uow.session.execute(
            update(ApplicationRow)
            .where(ApplicationRow.id == "seed-000000000001")
            .values(state="rejected", updated_at=stamped)
        )
        await uow.commit()
    await refresh_service_days(container.uow())  # the watermark is now `stamped`
    async with container.uow() as uow:  # application 2, stamped earlier, commits only now
        await uow.session.execute(
            update(ApplicationRow)
            .where(ApplicationRow.id == "seed-000000000002")
            .values(state="withdrawn", updated_at=stamped - timedelta(minutes=5))
        )
        await uow.commit()
    await refresh_service_days(container.uow())
    totals = await _totals(container)
    async with container.uow() as uow:
        rows = await uow.session.execute(
            text(
                "SELECT state, count(*) FROM applications "
                "WHERE service_id = 'open-a-restaurant' GROUP BY state"
            )
        )
        truth = {str(state): int(count) for state, count in rows.all()}
    assert totals[RST] == truth
    assert sum(totals[RST].values()) == 150
