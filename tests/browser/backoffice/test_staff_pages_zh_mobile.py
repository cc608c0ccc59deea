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
from playwright.async_api import Browser, Page, async_playwright

from civicloom.settings import Settings
from tests.browser.backoffice.site import BackOffice, running_back_office
from tests.browser.portal.site import CHROMIUM_ARGS, check_accessibility, poll
from tests.browser.serving import CHROMIUM
from tests.integration.backoffice.world import submit, task_of

pytestmark = pytest.mark.browser

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"

# Words a person must never read on a Chinese page: the ids behind departments, steps, states,
# roles and audit actions of the demo, written out by hand.
RAW_IDS = (
    "local-admin",
    "licensing_review",
    "inspection_routing",
    "zoning_check",
    "awaiting_officer",
    "dead_lettered",
    "application.read",
    "application.submitted",
    "task.claimed",
    "licensing-officer",
    "service-owner",
    "open-a-restaurant",
)
# e-mail addresses and web addresses carry ids legitimately (an officer's address); they are
# taken out of the text before looking for ids
ADDRESS = re.compile(r"\S+@\S+|https?://\S+|/[\w./{}-]+")
# what a person reads in the page's main part; identifiers set as code (a capability's id in the
# API catalogue, the id a machine client calls) are shown on purpose and left out, as is text a
# department wrote in one language and marked so (a capability's technical description, lang=en)
WORDS_READ = """() => {
  const main = document.querySelector('main').cloneNode(true);
  main.querySelectorAll('code, .govuk-visually-hidden, [lang=en]').forEach((c) => c.remove());
  document.body.appendChild(main);
  const text = main.innerText;
  main.remove();
  return text;
}"""
SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Browser tests run on SQLite: the database paths are covered by the integration tests."""
    return str(request.param)


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[BackOffice]:
    """The back office over HTTP with the case engine working in the background."""
    async with running_back_office(settings) as running:
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium."""
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


async def phone_as(browser: Browser, site: BackOffice, persona: str) -> Page:
    """A 375 px Chinese phone signed in as a demo persona."""
    context = await browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{site.base}/auth/dev-login?next=/backoffice")
    await page.click(f"button[data-persona={persona}]")
    await page.wait_for_url(f"{site.base}/backoffice**")
    return page


async def read_as_a_person(page: Page, path: str, visited: list[str], problems: list[str]) -> str:
    """Open a page, check it the way a person on a phone meets it (each problem noted, so one
    run names them all); return what they read."""
    response = await page.goto(path)
    assert response is not None, path
    assert response.status == 200, f"{path}: {response.status}"
    try:
        await check_accessibility(page, visited)
    except AssertionError as failed:
        problems.append(str(failed).splitlines()[0])
    if not await page.evaluate(NO_SIDEWAYS_SCROLL):
        problems.append(f"{path} scrolls sideways at 375 px")
    text = ADDRESS.sub(" ", await page.evaluate(WORDS_READ))
    found = sorted({raw for raw in RAW_IDS if raw in text} | set(SNAKE.findall(text)))
    if found:
        where = [text[max(0, text.find(f) - 40) : text.find(f) + 40] for f in found]
        problems.append(f"{path} shows ids instead of words: {found} {where}")
    return text


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
    problems: list[str] = []
    for persona, paths in walks.items():
        page = await phone_as(browser, site, persona)
        for path in paths:
            text = await read_as_a_person(page, f"{base}{path}", visited, problems)
            headings[path.split("?")[0]] = text.strip().splitlines()[0] if text.strip() else ""
        await page.context.close()

    assert problems == []
    assert len(visited) == 18
    # the pages speak Chinese (a heading with a Chinese character), not an English fallback
    english_only = [p for p, h in headings.items() if not re.search(r"[\u4e00-\u9fff]", h)]
    assert english_only == [], f"English headings on Chinese pages: {english_only}"
