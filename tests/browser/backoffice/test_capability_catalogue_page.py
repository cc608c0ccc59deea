"""Priya, the platform operator, reads the capability catalogue in Chromium (ADR 0051): from the
navigation to a capability's contract and the services that use it, and back; axe-clean in
English and Chinese."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright

from civicloom.settings import Settings
from tests.browser.backoffice.site import BackOffice, running_back_office, sign_in
from tests.browser.portal.site import CHROMIUM_ARGS, check_accessibility
from tests.browser.serving import CHROMIUM

pytestmark = pytest.mark.browser


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Browser tests run on SQLite: the database paths are covered by the integration tests."""
    return str(request.param)


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[BackOffice]:
    async with running_back_office(settings) as running:
        yield running


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with async_playwright() as pw:
        browser: Browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = await browser.new_context()
        yield await context.new_page()
        await browser.close()


async def test_priya_reads_a_contract_and_who_uses_it(site: BackOffice, page: Page) -> None:
    visited: list[str] = []
    await sign_in(page, site, "priya", "/backoffice/operations")
    await page.get_by_role("link", name="Capability catalogue").click()
    await page.wait_for_url("**/backoffice/capabilities")
    await check_accessibility(page, visited)
    assert await page.locator("h1").inner_text() == "Capability catalogue"
    row = page.locator("#capabilities tr", has_text="local-admin.zoning_check")
    assert await row.locator("td").nth(1).inner_text() == "Local Administration"
    assert await row.locator("td").nth(2).inner_text() == "soap"
    assert await row.locator("td").nth(4).inner_text() == (
        "Change of business address, Open a restaurant"  # the services by their titles
    )

    await page.get_by_role("link", name="environment.screening").click()
    await page.wait_for_url("**/backoffice/capabilities/environment.screening")
    await check_accessibility(page, visited)
    terms = await page.locator("#terms").inner_text()
    for text in ("Environment Department", "callback", "Within 10 seconds", "Within 48 hours"):
        assert text in terms, text
    assert "grease_trap" in await page.locator("#input-contract").inner_text()
    assert "inspection_required" in await page.locator("#output-contract").inner_text()
    assert "Step screening" in await page.locator("#used-by").inner_text()

    await page.click("a[hreflang=zh-Hans]")
    await page.wait_for_url("**/backoffice/capabilities/environment.screening**")
    await check_accessibility(page, visited)
    terms = await page.locator("#terms").inner_text()
    assert "环境局" in terms
    assert "48 小时内" in terms
    assert await page.locator("#used-by caption").inner_text() == "使用该能力的服务"

    await page.get_by_role("link", name="能力目录").first.click()
    await page.wait_for_url("**/backoffice/capabilities")
    assert await page.locator("h1").inner_text() == "能力目录"
    await check_accessibility(page, visited)
    assert len(visited) == 4
