"""The whole application form by keyboard only (Tab, Space, Enter, typing), in Chromium, with
axe-core on the dev-login page and on every page of the form."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright

from civicloom.settings import Settings
from tests.browser.portal.site import (
    CHROMIUM_ARGS,
    Site,
    check_accessibility,
    running_site,
)
from tests.browser.serving import CHROMIUM

pytestmark = pytest.mark.browser
MAX_TABS = 60


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Browser tests run on SQLite: the database paths are covered by the integration tests."""
    return str(request.param)


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[Site]:
    """The portal served over HTTP with the case engine working in the background."""
    async with running_site(settings) as running:
        yield running


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    """A fresh page in headless Debian Chromium."""
    async with async_playwright() as pw:
        browser: Browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        yield await context.new_page()
        await browser.close()


async def tab_to(page: Page, selector: str) -> None:
    """Press Tab until the element matching ``selector`` has the focus (fail if it never does)."""
    for _ in range(MAX_TABS):
        await page.keyboard.press("Tab")
        if await page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


async def type_into(page: Page, selector: str, text: str) -> None:
    """Tab to a text field and type."""
    await tab_to(page, selector)
    await page.keyboard.press("Control+A")
    await page.keyboard.type(text)


async def test_apply_by_keyboard_only(site: Site, page: Page) -> None:
    visited: list[str] = []
    await page.goto(f"{site.base}/services/open-a-restaurant")
    await tab_to(page, "a.govuk-button--start")
    await page.keyboard.press("Enter")  # sign in to start

    await page.wait_for_url("**/auth/**")
    await check_accessibility(page, visited)  # the dev-login page
    await tab_to(page, "button[data-persona=alice]")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{site.base}/services/open-a-restaurant")
    await tab_to(page, "button.govuk-button--start")
    await page.keyboard.press("Enter")

    await page.wait_for_url("**/prefill")
    await check_accessibility(page, visited)
    await tab_to(page, "#consent")
    await page.keyboard.press("Space")
    assert await page.is_checked("#consent")
    await tab_to(page, "button.govuk-button")
    await page.keyboard.press("Enter")

    await page.wait_for_url("**/pages/business")
    assert await page.input_value("#business_name") == "Golden Dragon Kitchen Ltd"
    await tab_to(page, "button[value=continue]")
    await page.keyboard.press("Enter")

    await page.wait_for_url("**/pages/premises")
    await check_accessibility(page, visited)
    await type_into(page, "#parcel_id", "P-0042-117")
    await type_into(page, "#premises_address", "12 Harbour Street, Riverton")
    await type_into(page, "#seating", "40")
    await tab_to(page, "#grease_trap")  # the first radio of "a grease trap is installed"
    await page.keyboard.press("Space")
    assert await page.is_checked("#grease_trap")
    await tab_to(page, "#cuisine")  # six cuisines: a select, chosen with the arrow keys
    await page.keyboard.press("ArrowDown")
    assert await page.input_value("#cuisine") == "chinese"
    await tab_to(page, "button[value=continue]")
    await page.keyboard.press("Enter")

    await page.wait_for_url("**/pages/staff")
    await check_accessibility(page, visited)
    await type_into(page, "#staff_count", "8")
    await type_into(page, "#opening_date-day", "1")
    await type_into(page, "#opening_date-month", "3")
    await type_into(page, "#opening_date-year", "2099")
    await type_into(page, "#contact_email", "alice@example.org")
    await page.keyboard.press("Enter")  # Enter in a field submits with the first button

    await page.wait_for_url("**/check")
    await check_accessibility(page, visited)
    assert "P-0042-117" in await page.inner_text("main")
    await tab_to(page, "form[action$='/submit'] button")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/confirmation")
    await check_accessibility(page, visited)
    assert (await page.inner_text("#reference")).startswith("RST-")
    assert len(visited) == 6


@pytest.mark.parametrize(
    ("locale", "width"), [("en-GB", 1280), ("zh-CN", 375)], ids=["en-desktop", "zh-mobile"]
)
async def test_eligibility_precheck_by_keyboard(site: Site, locale: str, width: int) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = await browser.new_context(viewport={"width": width, "height": 800}, locale=locale)
        page = await context.new_page()
        visited: list[str] = []
        await page.goto(f"{site.base}/services/open-a-restaurant")
        await tab_to(page, "#eligibility-link")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/eligibility")
        await check_accessibility(page, visited)
        await type_into(page, "#parcel_id", "P-0042-117")
        await type_into(page, "#seating", "lots")
        await page.keyboard.press("Enter")
        await page.wait_for_selector(".govuk-error-summary")
        await check_accessibility(page, visited)
        await type_into(page, "#seating", "40")
        await type_into(page, "#staff_count", "8")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#outcomes")
        await check_accessibility(page, visited)
        assert await page.get_attribute("#verdict", "data-eligible") == "yes"
        assert "400.00" in await page.inner_text("[data-check=fees]")
        if locale == "zh-CN":
            assert "允许" in await page.inner_text("[data-check=zoning]")
        no_scroll = "document.documentElement.scrollWidth <= window.innerWidth"
        assert await page.evaluate(no_scroll)  # usable at 375 px: no sideways scrolling
        await browser.close()
