"""Olivia (licensing officer) finds a case and reads every department's outcome on one page, in
Chromium: English at 1280 px and Chinese at 375 px, by keyboard into the search box, axe-clean
on the search page, its error and the case page (issue 19, ADR 0063)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import async_playwright

from civicloom.settings import Settings
from tests.browser.backoffice.site import BackOffice, running_back_office, sign_in, tab_to
from tests.browser.portal.site import CHROMIUM_ARGS, check_accessibility, poll
from tests.browser.serving import CHROMIUM
from tests.integration.backoffice.world import submit, task_of

pytestmark = pytest.mark.browser
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Browser tests run on SQLite: the database paths are covered by the integration tests."""
    return str(request.param)


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[BackOffice]:
    async with running_back_office(settings) as running:
        yield running


@pytest.mark.parametrize(
    ("locale", "width", "words"),
    [
        (
            "en-GB",
            1280,
            {
                "error": "Enter at least 2 characters",
                "heading": "Every department's steps",
                "tax": "Tax Authority",
            },
        ),
        (
            "zh-CN",
            375,
            {
                "error": "请至少输入 2 个字符",
                "heading": "每个部门的步骤",
                "tax": "税务局",
            },
        ),
    ],
    ids=["en-desktop", "zh-mobile"],
)
async def test_olivia_finds_the_case_and_reads_every_department(
    site: BackOffice, locale: str, width: int, words: dict[str, str]
) -> None:
    app_id = await submit(site.container, f"browser-case-{locale}")

    async def reviewing() -> bool:
        return (await task_of(site.container, app_id, "licensing_review")).state == (
            "awaiting_officer"
        )

    await poll(reviewing, "the licensing review to wait for an officer")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = await browser.new_context(viewport={"width": width, "height": 800}, locale=locale)
        page = await context.new_page()
        visited: list[str] = []
        await sign_in(page, site, "olivia", "/backoffice/tasks")
        await page.click('nav a[href="/backoffice/cases"]')
        await page.wait_for_url("**/backoffice/cases")
        await check_accessibility(page, visited)

        await tab_to(page, "#q")
        await page.keyboard.type("G")
        await page.keyboard.press("Enter")
        await page.wait_for_selector(".govuk-error-summary")
        await check_accessibility(page, visited)
        assert words["error"] in await page.inner_text("#q-error")
        assert await page.input_value("#q") == "G"

        await page.fill("#q", "BR-2019-004211")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#case-results")
        await check_accessibility(page, visited)
        assert await page.evaluate(NO_SIDEWAYS_SCROLL)
        row = page.locator(f'#case-results tr[data-application="{app_id}"]')
        await row.locator("a").click()
        await page.wait_for_url(f"**/backoffice/cases/{app_id}")
        await check_accessibility(page, visited)
        assert await page.evaluate(NO_SIDEWAYS_SCROLL)
        assert await page.inner_text("#steps-heading") == words["heading"]
        assert words["tax"] in await page.inner_text('[data-step="tax"]')
        steps = await page.locator("#case-steps > li").evaluate_all(
            "(items) => items.map((i) => i.dataset.step)"
        )
        assert steps[:5] == ["business", "zoning", "tax", "screening", "employer"]
        assert steps[-4:] == ["licensing_review", "payment", "register_activity", "licence"]
        assert len(visited) == 4
        await browser.close()
