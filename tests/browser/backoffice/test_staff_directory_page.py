"""Hana, Local Administration's department administrator, keeps the staff directory in Chromium
(ADR 0042): a form sent incomplete shows each reason beside its field, she puts Grace on leave
with the keyboard-usable GOV.UK form and withdraws it; axe-clean in English and Chinese."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy import select

from civicloom.identity.tables import StaffGrantRow
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


async def test_hana_puts_grace_on_leave_and_withdraws_it(site: BackOffice, page: Page) -> None:
    visited: list[str] = []
    await sign_in(page, site, "hana", "/backoffice/directory")
    await check_accessibility(page, visited)
    assert await page.locator("h1").inner_text() == "Staff directory"
    people = await page.locator("#people").inner_text()
    assert "Grace Park" in people
    assert "Supervisor" in people

    # sent without a choice: the reasons stand beside the fields, and the page is still clean
    await page.get_by_role("button", name="Record grant").click()
    await check_accessibility(page, visited)
    summary = await page.locator(".govuk-error-summary").inner_text()
    assert "Choose what to grant" in summary
    assert "Choose a person of your department" in summary

    today = await page.evaluate("new Date().toISOString().slice(0, 10)")
    year, month, day = (str(int(part)) for part in today.split("-"))
    await page.select_option("#subject", "grace")
    await page.check("#kind-2")  # Leave
    for name in ("starts_on", "ends_on"):
        await page.fill(f"#{name}-day", day)
        await page.fill(f"#{name}-month", month)
        await page.fill(f"#{name}-year", year)
    await page.fill("#reason", "Annual leave")
    await page.keyboard.press("Tab")
    await page.get_by_role("button", name="Record grant").click()
    await page.wait_for_url("**/backoffice/directory?done=granted")
    await check_accessibility(page, visited)
    grants = await page.locator("#grants").inner_text()
    assert "Grace Park" in grants
    assert "On leave" in grants
    assert "Away" in await page.locator("tr[data-person=grace]").inner_text()

    # in Chinese the page reads in Chinese
    await page.click("a[hreflang=zh-Hans]")
    await page.wait_for_url("**/backoffice/directory**")
    assert await page.locator("h1").inner_text() == "员工名录"
    assert "休假中" in await page.locator("#grants").inner_text()
    await check_accessibility(page, visited)

    await page.locator("#grants button").click()
    await page.wait_for_url("**/backoffice/directory?done=revoked")
    assert "授权已撤回。" in await page.locator(".govuk-notification-banner").inner_text()
    await check_accessibility(page, visited)
    async with site.container.uow() as uow:
        revoked = list(await uow.session.scalars(select(StaffGrantRow.revoked_by)))
    assert revoked == ["hana"]
    assert len(visited) == 5
