"""Olivia (licensing officer) finds a case and reads every department's outcome on one page, in
Chromium: English at 1280 px and Chinese at 375 px, by keyboard into the search box, axe-clean
on the search page, its error and the case page (issue 19, ADR 0063)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser

from civicloom.settings import Settings
from tests.browser.backoffice.site import BackOffice, running_back_office, sign_in, tab_to
from tests.browser.portal.site import poll
from tests.browser.serving import (
    EN_DESKTOP,
    NO_SIDEWAYS_SCROLL,
    ZH_PHONE,
    Variant,
    check_page,
    new_page,
)
from tests.integration.backoffice.world import submit, task_of

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
async def site(module_settings: Settings) -> AsyncIterator[BackOffice]:
    """The back office over HTTP, shared by both walks of the module."""
    async with running_back_office(module_settings) as running:
        yield running


@pytest.mark.parametrize(
    ("variant", "words"),
    [
        (
            EN_DESKTOP,
            {
                "error": "Enter at least 2 characters",
                "heading": "Every department's steps",
                "tax": "Tax Authority",
            },
        ),
        (
            ZH_PHONE,
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
    site: BackOffice, browser: Browser, variant: Variant, words: dict[str, str]
) -> None:
    app_id = await submit(site.container, f"browser-case-{variant.locale}")

    async def reviewing() -> bool:
        return (await task_of(site.container, app_id, "licensing_review")).state == (
            "awaiting_officer"
        )

    await poll(reviewing, "the licensing review to wait for an officer")
    page = await new_page(browser, variant)
    visited: list[str] = []
    await sign_in(page, site, "olivia", "/backoffice/tasks")
    await page.click('nav a[href="/backoffice/cases"]')
    await page.wait_for_url("**/backoffice/cases")
    await check_page(page, "search", visited)

    await tab_to(page, "#q")
    await page.keyboard.type("G")
    await page.keyboard.press("Enter")
    await page.wait_for_selector(".govuk-error-summary")
    await check_page(page, "search-error", visited)
    assert words["error"] in await page.inner_text("#q-error")
    assert await page.input_value("#q") == "G"

    await page.fill("#q", "BR-2019-004211")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#case-results")
    await check_page(page, "results", visited)
    assert await page.evaluate(NO_SIDEWAYS_SCROLL)
    row = page.locator(f'#case-results tr[data-application="{app_id}"]')
    await row.locator("a").click()
    await page.wait_for_url(f"**/backoffice/cases/{app_id}")
    await check_page(page, "case", visited)
    assert await page.evaluate(NO_SIDEWAYS_SCROLL)
    assert await page.inner_text("#steps-heading") == words["heading"]
    assert words["tax"] in await page.inner_text('[data-step="tax"]')
    steps = await page.locator("#case-steps > li").evaluate_all(
        "(items) => items.map((i) => i.dataset.step)"
    )
    assert steps[:5] == ["business", "zoning", "tax", "screening", "employer"]
    assert steps[-4:] == ["licensing_review", "payment", "register_activity", "licence"]
    assert len(visited) == 4
    await page.context.close()
