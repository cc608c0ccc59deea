"""The KPI dashboard and the public performance page name departments and steps in words
(issue 19): a reader in Simplified Chinese reads "地方行政局" and "许可决定", never
``local-admin`` or ``licensing_review``; in English "Local Administration" and "Licensing
decision". Expected words are written by hand from blueprints/departments and the restaurant
service's blueprint."""

from __future__ import annotations

import httpx
import pytest

from civicloom.demo import LoadReport
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.english import chinese_in, english_runs, step_ids_in, visible_text
from tests.kpiwork import run_kpi_jobs

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # words, not SQL
DASHBOARD = "/backoffice/kpis?service=open-a-restaurant"
EN = {"Accept": "text/html", "Accept-Language": "en"}
ZH = {"Accept": "text/html", "Accept-Language": "zh-Hans"}
# the demo's department ids, as a reader must never see them
DEPARTMENT_IDS = ("local-admin", "environment", "labour")
# what stays as written: the reader's name, the date format the period's fields expect
AS_WRITTEN = ("Sam Okafor", "YYYY-MM-DD")


def _sla_rows(html: str) -> str:
    """The SLA table's body: department and step of each row."""
    table = html.split('id="sla"', 1)[1].split("<tbody", 1)[1].split("</tbody>", 1)[0]
    return visible_text(table)


async def test_the_dashboard_names_departments_and_steps_in_the_readers_language(
    container: Container, client: httpx.AsyncClient, loaded: LoadReport
) -> None:
    assert loaded.submitted > 0
    await run_kpi_jobs(container)  # the worker stores the reports (ADR 0082)
    zh = await client.get(DASHBOARD, headers={**as_persona("sam"), **ZH})
    assert zh.status_code == 200
    rows = _sla_rows(zh.text)
    assert "地方行政局" in rows
    assert "许可决定" in rows  # licensing_review
    assert "现场检查" in rows  # inspection
    assert "环境局" in rows
    text = visible_text(zh.text, "en")
    assert step_ids_in(text) == []
    for raw in (*DEPARTMENT_IDS, "licensing_review", "labour_review"):
        assert raw not in text, raw
    assert english_runs(text, AS_WRITTEN) == []
    # the charts' bars name departments too
    charts = zh.text.split('id="effort"', 1)[1]
    assert "地方行政局 p50" in charts
    assert "local-admin p50" not in charts

    en = await client.get(DASHBOARD, headers={**as_persona("sam"), **EN})
    rows = _sla_rows(en.text)
    assert "Local Administration" in rows
    assert "Licensing decision" in rows
    assert "Premises inspection" in rows
    assert "licensing_review" not in rows
    assert chinese_in(visible_text(en.text, "zh-Hans")) == []


async def test_a_department_scoped_reader_sees_only_their_departments_name(
    container: Container, client: httpx.AsyncClient, loaded: LoadReport
) -> None:
    assert loaded.submitted > 0
    await run_kpi_jobs(container)  # the worker stores the reports (ADR 0082)
    zh = await client.get(DASHBOARD, headers={**as_persona("grace"), **ZH})
    assert zh.status_code == 200
    scope = zh.text.split('id="kpi-scope"', 1)[1].split("</p>", 1)[0]
    assert "地方行政局" in scope
    assert "local-admin" not in scope
    for other in ("税务局", "环境局", "劳动局", "Tax Authority", "Labour Office"):
        assert other not in _sla_rows(zh.text), other


async def test_the_public_performance_page_reads_in_chinese(
    container: Container, client: httpx.AsyncClient, loaded: LoadReport
) -> None:
    assert loaded.submitted > 0
    await run_kpi_jobs(container)  # the worker stores the reports (ADR 0082)
    zh = await client.get("/performance/open-a-restaurant", headers=ZH)
    assert zh.status_code == 200
    text = visible_text(zh.text, "en")
    assert english_runs(text) == []
    assert " days" not in text  # "3.2 days" is "3.2 天"
    for raw in DEPARTMENT_IDS:
        assert raw not in text, raw
