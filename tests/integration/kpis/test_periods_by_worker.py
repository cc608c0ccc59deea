"""No request computes a KPI report (issue 23, ADR 0082): a period with no stored report is
recorded for the worker (once, at most 20 waiting per service) and answered "being prepared";
the public page records nothing; a stale report is served with its time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select

from civicloom.kernel import FixedClock
from civicloom.kpis import compute_requested_periods
from civicloom.kpis.api import kpi_config
from civicloom.kpis.tables import KpiPeriodRequestRow, KpiReportSnapshotRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.kpiwork import run_kpi_jobs
from tests.querycount import counting

HTML = {"Accept": "text/html"}
ZH = {**HTML, "Accept-Language": "zh-Hans"}
SAM = as_persona("sam")
DASHBOARD = "/backoffice/kpis?service=open-a-restaurant"
CSV = "/backoffice/kpis.csv?service=open-a-restaurant"
WINTER = "&from=2026-12-01&to=2027-01-31"
PAGE = "/performance/open-a-restaurant"


def _fixed(container: Container) -> FixedClock:
    clock = FixedClock(datetime(2027, 3, 10, 9, 30, tzinfo=UTC))
    container.clock = clock
    return clock


async def _rows(container: Container) -> tuple[list[tuple[str, str]], int]:
    """The periods waiting (service, first day) and how many reports are stored."""
    async with container.uow() as uow:
        waiting = await uow.session.execute(
            select(KpiPeriodRequestRow.service, KpiPeriodRequestRow.first_day).order_by(
                KpiPeriodRequestRow.first_day
            )
        )
        stored = await uow.session.scalar(select(func.count()).select_from(KpiReportSnapshotRow))
        return [(s, d.isoformat()) for s, d in waiting.all()], stored or 0


async def test_a_new_period_is_recorded_once_and_computed_by_the_worker_only(
    container: Container, client: httpx.AsyncClient
) -> None:
    _fixed(container)
    with counting(container) as statements:
        first = await client.get(DASHBOARD + WINTER, headers={**HTML, **SAM})
    assert first.status_code == 202
    assert first.headers["retry-after"] == "15"
    same = "/backoffice/kpis?service=open-a-restaurant&amp;from=2026-12-01&amp;to=2027-01-31"
    assert f'hx-get="{same}" hx-trigger="every 15s"' in first.text  # with JavaScript
    assert f'href="{same}">Check again<' in first.text  # without
    assert "http-equiv" not in first.text  # no timed reload (WCAG 2.2.1)
    assert (
        "The figures for applications submitted from 2026-12-01 to 2027-01-31 are being "
        "prepared. This page checks again every 15 seconds; you can also check again yourself."
    ) in first.text
    assert not any("FROM applications" in s or "application_tasks" in s for s in statements)
    chinese = await client.get(DASHBOARD + WINTER, headers={**ZH, **SAM})
    assert chinese.status_code == 202
    assert "2026-12-01 至 2027-01-31 提交的申请的数据正在准备中" in chinese.text
    assert await _rows(container) == ([("open-a-restaurant", "2026-12-01")], 0)

    assert (
        await compute_requested_periods(container.uow(), container.clock, kpi_config(container))
        == 1
    )
    assert await _rows(container) == ([], 1)
    shown = await client.get(DASHBOARD + WINTER, headers={**HTML, **SAM})
    assert shown.status_code == 200
    assert "Figures as of 2027-03-10 09:30 (UTC)" in shown.text
    assert 'value="2026-12-01"' in shown.text
    csv = await client.get(CSV + WINTER, headers=SAM)
    assert csv.status_code == 200
    assert csv.text.startswith("section,key,department,value\n")


async def test_the_csv_of_a_new_period_asks_again_later_as_a_problem(
    container: Container, client: httpx.AsyncClient
) -> None:
    _fixed(container)
    csv = await client.get(CSV + WINTER, headers=SAM)
    assert csv.status_code == 503
    assert csv.headers["retry-after"] == "15"
    assert csv.headers["content-type"].startswith("application/problem+json")
    assert csv.json()["type"] == "/problems/kpi-figures-being-prepared"
    assert await _rows(container) == ([("open-a-restaurant", "2026-12-01")], 0)


async def test_the_21st_waiting_period_is_refused_and_recorded_nowhere(
    container: Container, client: httpx.AsyncClient
) -> None:
    _fixed(container)
    for day in range(1, 21):
        asked = await client.get(f"{CSV}&from=2026-11-{day:02}&to=2027-01-31", headers=SAM)
        assert asked.status_code == 503
    refused = await client.get(DASHBOARD + WINTER, headers={**HTML, **SAM})
    assert refused.status_code == 429
    assert "Too many periods are being prepared" in refused.text
    assert (
        "The figures of 20 other periods of this service are being prepared. Try this period "
        "again in a few minutes; it was not added."
    ) in refused.text
    assert "hx-trigger" not in refused.text
    assert (
        "正在准备的时段过多" in (await client.get(DASHBOARD + WINTER, headers={**ZH, **SAM})).text
    )
    problem = await client.get(CSV + WINTER, headers=SAM)
    assert problem.status_code == 429
    assert problem.headers["retry-after"] == "60"
    assert problem.json()["type"] == "/problems/kpi-periods-busy"
    waiting, stored = await _rows(container)
    assert (len(waiting), stored) == (20, 0)
    assert ("open-a-restaurant", "2026-12-01") not in waiting
    # A period already waiting is still answered "being prepared", not refused.
    again = await client.get(f"{DASHBOARD}&from=2026-11-07&to=2027-01-31", headers={**HTML, **SAM})
    assert again.status_code == 202


async def test_a_reader_without_a_kpi_role_is_refused_and_records_nothing(
    container: Container, client: httpx.AsyncClient
) -> None:
    _fixed(container)
    alice = as_persona("alice")
    assert (await client.get(DASHBOARD + WINTER, headers={**HTML, **alice})).status_code == 403
    assert (await client.get(CSV + WINTER, headers=alice)).status_code == 403
    assert (await client.get(CSV + WINTER)).status_code == 401
    assert await _rows(container) == ([], 0)


async def test_the_public_page_without_a_report_says_so_and_records_nothing(
    container: Container, client: httpx.AsyncClient
) -> None:
    _fixed(container)
    with counting(container) as statements:
        page = await client.get(PAGE, headers=HTML)
    assert page.status_code == 503
    assert page.headers["retry-after"] == "15"
    assert (
        "The figures of this service are being prepared. This page checks again every 15 "
        "seconds; you can also check again yourself."
    ) in page.text
    assert not any("FROM applications" in s for s in statements)
    assert "该服务的数据正在准备中" in (await client.get(PAGE, headers=ZH)).text
    assert await _rows(container) == ([], 0)
    assert (await client.get("/performance/no-such-service", headers=HTML)).status_code == 404
    await run_kpi_jobs(container)
    assert (await client.get(PAGE, headers=HTML)).status_code == 200


async def test_a_stale_report_is_served_with_its_time_and_recounted_by_the_worker(
    container: Container, client: httpx.AsyncClient
) -> None:
    clock = _fixed(container)
    await client.get(DASHBOARD + WINTER, headers={**HTML, **SAM})
    await run_kpi_jobs(container)
    clock.advance(timedelta(hours=5))
    stale = await client.get(DASHBOARD + WINTER, headers={**HTML, **SAM})
    assert stale.status_code == 200
    assert "Figures as of 2027-03-10 09:30 (UTC)" in stale.text
    public = await client.get(PAGE, headers=ZH)
    assert public.status_code == 200
    assert "数据截至 2027-03-10 09:30" in public.text
    assert (await _rows(container))[0] == [("open-a-restaurant", "2026-12-01")]
    assert await compute_requested_periods(container.uow(), clock, kpi_config(container)) == 1
    fresh = await client.get(DASHBOARD + WINTER, headers={**HTML, **SAM})
    assert "Figures as of 2027-03-10 14:30 (UTC)" in fresh.text


async def test_a_period_nobody_asked_for_again_for_a_day_is_forgotten(
    container: Container, client: httpx.AsyncClient
) -> None:
    clock = _fixed(container)
    await client.get(DASHBOARD + WINTER, headers={**HTML, **SAM})
    clock.advance(timedelta(hours=25))
    assert await compute_requested_periods(container.uow(), clock, kpi_config(container)) == 0
    assert await _rows(container) == ([], 0)


async def test_after_midnight_yesterdays_default_window_serves_until_todays_is_stored(
    container: Container, client: httpx.AsyncClient
) -> None:
    # The default window (the last 90 days to today) moves at UTC midnight: until the worker's
    # next refresh stores today's, yesterday's serves, with its time (attack review).
    clock = FixedClock(datetime(2027, 3, 10, 23, 58, tzinfo=UTC))
    container.clock = clock
    await run_kpi_jobs(container)
    clock.advance(timedelta(minutes=3))  # 2027-03-11 00:01

    public = await client.get(PAGE, headers=HTML)
    dashboard = await client.get(DASHBOARD, headers={**HTML, **SAM})

    assert public.status_code == 200
    assert "Figures as of 2027-03-10 23:58 (UTC)" in public.text
    assert dashboard.status_code == 200
    assert "Figures as of 2027-03-10 23:58 (UTC)" in dashboard.text
    # an explicit 90-day window is that window, not a neighbour's
    chosen = await client.get(DASHBOARD + "&from=2026-12-11&to=2027-03-10", headers={**HTML, **SAM})
    assert chosen.status_code == 200  # stored yesterday as the default window
    moved = await client.get(DASHBOARD + "&from=2026-12-12&to=2027-03-11", headers={**HTML, **SAM})
    assert moved.status_code == 200  # the same as today's default: yesterday's serves
    other = await client.get(DASHBOARD + "&from=2026-12-10&to=2027-03-09", headers={**HTML, **SAM})
    assert other.status_code == 202  # never stored: recorded for the worker
    await run_kpi_jobs(container)
    fresh = await client.get(PAGE, headers=HTML)
    assert "Figures as of 2027-03-11 00:01 (UTC)" in fresh.text


async def test_the_cap_holds_when_requests_for_new_periods_arrive_at_once(
    container: Container, client: httpx.AsyncClient
) -> None:
    # 19 waiting, then 8 new periods asked at the same moment: one more fits, not eight
    # (attack review: the count and the insert were not serialised; 15 at once made 29).
    _fixed(container)
    for day in range(1, 20):
        asked = await client.get(f"{CSV}&from=2026-11-{day:02}&to=2027-01-31", headers=SAM)
        assert asked.status_code == 503
    answers = await asyncio.gather(
        *(
            client.get(f"{CSV}&from=2026-10-{day:02}&to=2027-01-31", headers=SAM)
            for day in range(1, 9)
        )
    )
    assert sorted(a.status_code for a in answers) == [429] * 7 + [503]
    waiting, _ = await _rows(container)
    assert len(waiting) == 20
