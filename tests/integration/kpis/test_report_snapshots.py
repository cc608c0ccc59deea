"""The public performance page and the KPI dashboard read a stored report (ADR 0061), computed
by the worker only (ADR 0082), an ETag the browser revalidates (304), periods of
at most a year, and the period's words as the reader reads them (issue 19, issue 23)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import yaml

from civicloom.kernel import FixedClock
from civicloom.kpis import refresh_report_snapshots
from civicloom.kpis.api import kpi_config
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.kpiwork import run_kpi_jobs
from tests.querycount import counting

HTML = {"Accept": "text/html"}
ZH = {**HTML, "Accept-Language": "zh-Hans"}
PAGE = "/performance/open-a-restaurant"


def _fixed(container: Container) -> FixedClock:
    clock = FixedClock(datetime(2027, 3, 10, 9, 30, tzinfo=UTC))
    container.clock = clock
    return clock


async def test_a_warm_page_reads_the_stored_report_not_the_applications(
    container: Container, client: httpx.AsyncClient
) -> None:
    _fixed(container)
    await run_kpi_jobs(container)
    with counting(container) as statements:
        warm = await client.get(PAGE, headers=HTML)
    assert warm.status_code == 200
    touched = " ".join(statements)
    assert "FROM applications" not in touched
    assert "FROM application_tasks" not in touched
    assert sum("FROM kpi_report_snapshots" in s for s in statements) == 1


async def test_unchanged_page_is_a_304_only_for_the_same_language_and_reader(
    container: Container, client: httpx.AsyncClient
) -> None:
    _fixed(container)
    await run_kpi_jobs(container)
    first = await client.get(PAGE, headers=HTML)
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    again = await client.get(PAGE, headers={**HTML, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    # Another language, or a signed-in reader (their name in the header), gets the page itself.
    chinese = await client.get(PAGE, headers={**ZH, "If-None-Match": etag})
    assert chinese.status_code == 200
    assert chinese.headers["etag"] != etag
    signed_in = await client.get(
        PAGE, headers={**HTML, **as_persona("alice"), "If-None-Match": etag}
    )
    assert signed_in.status_code == 200
    assert signed_in.headers["etag"] != etag


async def test_the_period_ends_today_and_the_title_reads_in_chinese(
    container: Container, client: httpx.AsyncClient
) -> None:
    _fixed(container)
    await run_kpi_jobs(container)
    english = (await client.get(PAGE, headers=HTML)).text
    assert "Applications submitted from 11 December 2026 to 10 March 2027." in english
    assert "<title>Service performance: Open a restaurant" in english
    assert "Figures as of 2027-03-10 09:30 (UTC)" in english
    # the figures say what they count (not a bare "visits 0.3", "forms 1.3")
    assert "forms per decided application on average" in english
    assert "such as an inspection of the premises, happen" in english
    chinese = (await client.get(PAGE, headers=ZH)).text
    assert ": performance" not in chinese
    assert "服务绩效：" in chinese
    assert "数据截至 2027-03-10 09:30" in chinese


async def test_figures_are_recounted_by_the_worker_not_per_request(
    container: Container, client: httpx.AsyncClient
) -> None:
    clock = _fixed(container)
    await run_kpi_jobs(container)
    first = await client.get(PAGE, headers=HTML)
    clock.advance(timedelta(seconds=2 * container.settings.kpi_snapshot_seconds + 1))
    with counting(container) as statements:
        same = await client.get(PAGE, headers=HTML)  # stale: served with its time
    assert same.headers["etag"] == first.headers["etag"]
    assert "Figures as of 2027-03-10 09:30 (UTC)" in same.text
    assert not any("FROM applications" in s for s in statements)
    await run_kpi_jobs(container)
    later = await client.get(PAGE, headers=HTML)
    assert "Figures as of 2027-03-10 09:40 (UTC)" in later.text


async def test_the_worker_refreshes_every_published_service(
    container: Container, client: httpx.AsyncClient
) -> None:
    clock = _fixed(container)
    refreshed = await refresh_report_snapshots(container.uow(), clock, kpi_config(container))
    assert refreshed == 2
    clock.advance(timedelta(minutes=3))
    with counting(container) as statements:
        page = await client.get(PAGE, headers=HTML)
    assert "Figures as of 2027-03-10 09:30 (UTC)" in page.text
    assert not any("FROM applications" in s for s in statements)


async def test_a_period_longer_than_a_year_is_refused_naming_the_field(
    container: Container, client: httpx.AsyncClient
) -> None:
    sam = as_persona("sam")
    csv = await client.get(
        "/backoffice/kpis.csv?service=open-a-restaurant&from=2026-01-01&to=2027-01-03",
        headers=sam,
    )
    assert csv.status_code == 422
    assert csv.headers["content-type"].startswith("application/problem+json")
    assert csv.json()["errors"][0]["field"] == "to"
    assert csv.json()["errors"][0]["rule"] == "max-period"
    year = "/backoffice/kpis.csv?service=open-a-restaurant&from=2026-01-01&to=2027-01-01"
    assert (await client.get(year, headers=sam)).status_code == 503  # recorded for the worker
    await run_kpi_jobs(container)
    assert (await client.get(year, headers=sam)).status_code == 200


async def test_dashboard_revalidates_per_reader_and_scope(
    container: Container, client: httpx.AsyncClient
) -> None:
    _fixed(container)
    await run_kpi_jobs(container)
    url = "/backoffice/kpis?service=open-a-restaurant"
    await client.get(url, headers={**HTML, **as_persona("sam")})  # sets the form-token cookie
    sam = await client.get(url, headers={**HTML, **as_persona("sam")})
    etag = sam.headers["etag"]
    again = await client.get(url, headers={**HTML, **as_persona("sam"), "If-None-Match": etag})
    assert again.status_code == 304
    # A supervisor who sees only their department's rows never gets the owner's page.
    grace = await client.get(url, headers={**HTML, **as_persona("grace"), "If-None-Match": etag})
    assert grace.status_code == 200
    # Nor does a citizen, whatever the ETag they send.
    alice = await client.get(url, headers={**as_persona("alice"), "If-None-Match": etag})
    assert alice.status_code == 403


async def test_a_warm_page_parses_no_configuration_file(
    container: Container, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fixed(container)
    await run_kpi_jobs(container)
    assert (await client.get(PAGE, headers=HTML)).status_code == 200
    parsed: list[object] = []
    original = yaml.safe_load

    def counted(stream: Any) -> Any:
        parsed.append(stream)
        return original(stream)

    monkeypatch.setattr(yaml, "safe_load", counted)
    assert (await client.get(PAGE, headers=HTML)).status_code == 200
    assert parsed == []  # tariffs and kpis.yaml are parsed again only when they change
