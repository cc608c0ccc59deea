"""Simplified Chinese beyond the portal: a KPI page, a back-office page, the whole catalogue."""

from __future__ import annotations

from pathlib import Path

import httpx
from babel.messages.pofile import read_po

from civicloom.runtime import Container
from civicloom.settings import PROJECT_ROOT
from tests.conftest import as_persona
from tests.kpiwork import run_kpi_jobs

ZH = {"Accept": "text/html", "Accept-Language": "zh-Hans"}
CATALOGUE = PROJECT_ROOT / "src/civicloom/translations/zh_Hans/LC_MESSAGES/messages.po"


def test_every_msgid_has_simplified_chinese() -> None:
    with Path(CATALOGUE).open("rb") as po:
        catalogue = read_po(po, locale="zh_Hans")
    missing = [
        m.id
        for m in catalogue
        if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))
    ]
    assert missing == []


async def test_public_performance_page_in_chinese(
    container: Container, client: httpx.AsyncClient
) -> None:
    await run_kpi_jobs(container)  # the worker stores the report (ADR 0082)
    page = await client.get("/performance/open-a-restaurant", headers=ZH)
    assert page.status_code == 200
    assert '<html lang="zh-Hans"' in page.text
    assert "服务绩效" in page.text or "申请人的变化" in page.text
    assert "What changed for applicants" not in page.text


async def test_kpi_dashboard_in_chinese(container: Container, client: httpx.AsyncClient) -> None:
    await run_kpi_jobs(container)
    page = await client.get("/backoffice/kpis", headers={**ZH, **as_persona("sam")})
    assert page.status_code == 200
    assert "服务时限达标率" in page.text
    assert "数据来源部门" in page.text or "跨部门复用的数据" in page.text
    # The charts' own captions come from Python and follow the page's language too.
    assert "市民办事负担：过去与现在" in page.text
    assert "Citizen effort before and now" not in page.text
    assert "No data" not in page.text  # an empty chart says so in Chinese


async def test_back_office_queue_in_chinese(client: httpx.AsyncClient) -> None:
    page = await client.get("/backoffice/tasks", headers={**ZH, **as_persona("olivia")})
    assert page.status_code == 200
    assert '<html lang="zh-Hans"' in page.text
    assert "任务" in page.text


async def test_accessibility_statement_shows_400_percent_in_both_languages(
    client: httpx.AsyncClient,
) -> None:
    # Jinja's new-style gettext %-formats every message: a bare "%" broke the Chinese page
    # (500: unsupported format character) and garbled the English one ("400{}nd").
    chinese = await client.get("/accessibility", headers=ZH)
    assert chinese.status_code == 200
    assert "放大至 400%、" in chinese.text
    english = await client.get("/accessibility", headers={"Accept": "text/html"})
    assert english.status_code == 200
    assert "zoomed to 400% and on a small screen" in english.text
