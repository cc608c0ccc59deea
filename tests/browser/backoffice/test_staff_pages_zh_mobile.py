"""Every staff role's pages in Simplified Chinese on a 375 px phone, as a new officer would meet
them: axe-clean (WCAG 2.2 AA), no sideways scrolling, and no machine identifier left in the
words a person reads (department ids, step ids, state or action ids, ``snake_case`` keys).

The case is real: Golden Dragon Kitchen's application with 60 seats goes through the case engine
until the environment inspection waits for an officer, so the queue, the task page, the
supervisor's view, the audit trail and the operator's page all have something to show."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page

from civicloom.settings import Settings
from tests.browser.backoffice.site import BackOffice, running_back_office
from tests.browser.portal.site import poll
from tests.browser.serving import ZH_PHONE, check_page, signed_in
from tests.integration.backoffice.world import submit, task_of
from tests.kpiwork import run_kpi_jobs

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
async def site(module_settings: Settings) -> AsyncIterator[BackOffice]:
    """The back office over HTTP with the case engine working in the background."""
    async with running_back_office(module_settings) as running:
        yield running


async def phone_as(browser: Browser, site: BackOffice, persona: str) -> Page:
    """A 375 px Chinese phone signed in as a demo persona."""
    return await signed_in(
        browser, site.base, persona, ZH_PHONE, "/backoffice", until=f"{site.base}/backoffice**"
    )


async def read_as_a_person(
    page: Page, who: str, path: str, visited: list[str], problems: list[str]
) -> str:
    """Open a page, check it the way a person on a phone meets it (axe, no sideways scrolling,
    no raw id: each problem noted, so one run names them all); return what they read."""
    response = await page.goto(path)
    assert response is not None, path
    assert response.status == 200, f"{path}: {response.status}"
    parts = path.split("/backoffice", 1)[-1].split("?")[0].strip("/").split("/")
    name = "-".join([who, *("one" if re.search(r"\d", p) else p for p in parts if p)])
    return await check_page(page, name, visited, problems)


async def test_every_staff_role_reads_its_pages_in_chinese_on_a_phone(
    site: BackOffice, browser: Browser
) -> None:
    app_id = await submit(site.container, "zh-walk", seating=60)
    found: dict[str, str] = {}

    async def inspection_waits() -> bool:
        try:
            task = await task_of(site.container, app_id, "inspection")
        except AssertionError:
            return False
        found["task"] = task.id
        return task.state == "awaiting_officer"

    await poll(inspection_waits, "the inspection to wait for an officer")
    task_id = found["task"]
    base = site.base
    await run_kpi_jobs(site.container)  # the worker stores the KPI report (ADR 0082)
    visited: list[str] = []
    walks = {
        "elena": [
            "/backoffice/tasks",
            f"/backoffice/tasks/{task_id}",
            "/backoffice/cases?q=Golden",
            f"/backoffice/cases/{app_id}",
            "/backoffice/reviews",
        ],
        "hana": ["/backoffice/directory"],
        "grace": ["/backoffice/supervision", "/backoffice/tasks"],
        "priya": ["/backoffice/operations", "/backoffice/feedback", "/backoffice/capabilities"],
        "ada": [f"/backoffice/audit?q={app_id}", "/backoffice/audit/verification"],
        "sam": [
            "/backoffice/services",
            "/backoffice/kpis",
            "/backoffice/rules/what-if?model=local-admin/licence-fee&version=1",
            "/backoffice/changes",
        ],
        "omar": ["/backoffice/funding"],
    }
    headings: dict[str, str] = {}
    read: dict[str, str] = {}
    problems: list[str] = []
    for persona, paths in walks.items():
        page = await phone_as(browser, site, persona)
        for path in paths:
            text = await read_as_a_person(page, persona, f"{base}{path}", visited, problems)
            read[f"{persona} {path}"] = text
            headings[path.split("?")[0]] = text.strip().splitlines()[0] if text.strip() else ""
        await page.context.close()

    assert problems == []
    assert len(visited) == 18
    # the pages speak Chinese (a heading with a Chinese character), not an English fallback
    english_only = [p for p, h in headings.items() if not re.search(r"[\u4e00-\u9fff]", h)]
    assert english_only == [], f"English headings on Chinese pages: {english_only}"
    # the queue names the step by its title, not by its id ("inspection")
    assert "现场检查" in read["elena /backoffice/tasks"]
