"""Help, contact, privacy, cookies and feedback in Chromium (issue 19): reached from the footer
and the Beta banner as a visitor would, axe-clean in English on a desktop and in Simplified
Chinese at 375 px, and a feedback answer sent by keyboard after a missing answer is explained."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import async_playwright

from civicloom.settings import Settings
from tests.browser.portal.site import CHROMIUM_ARGS, Site, check_accessibility, running_site
from tests.browser.serving import CHROMIUM

pytestmark = pytest.mark.browser
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Browser tests run on SQLite: the database paths are covered by the integration tests."""
    return str(request.param)


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[Site]:
    """The portal served over HTTP."""
    async with running_site(settings) as running:
        yield running


@pytest.mark.parametrize(
    ("locale", "width", "headings"),
    [
        ("en-GB", 1280, ["Help with applying", "Contact us", "Privacy notice", "Cookies"]),
        ("zh-CN", 375, ["申请帮助", "联系我们", "隐私声明", "Cookie"]),
    ],
    ids=["en-desktop", "zh-mobile"],
)
async def test_support_pages_from_the_footer_and_feedback_from_the_banner(
    site: Site, locale: str, width: int, headings: list[str]
) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = await browser.new_context(viewport={"width": width, "height": 800}, locale=locale)
        page = await context.new_page()
        visited: list[str] = []
        for path, heading in zip(
            ["/help", "/contact", "/privacy", "/cookies"], headings, strict=True
        ):
            await page.goto(f"{site.base}/services")
            await page.click(f'footer a[href="{path}"]')
            await page.wait_for_url(f"**{path}")
            assert await page.inner_text("h1") == heading
            await check_accessibility(page, visited)
            assert await page.evaluate(NO_SIDEWAYS_SCROLL), path

        await page.goto(f"{site.base}/services")
        await page.click(".govuk-phase-banner a")
        await page.wait_for_url("**/feedback?from=/services")
        await check_accessibility(page, visited)
        await page.click("#send-feedback")  # no answer chosen
        await page.wait_for_selector(".govuk-error-summary")
        await check_accessibility(page, visited)
        assert await page.is_visible("#rating-error")
        await page.check("input[name=rating][value=satisfied]")
        await page.fill("#comment", "Clear pages." if locale == "en-GB" else "页面清楚。")
        await page.click("#send-feedback")
        await page.wait_for_selector("#back-to-page")
        await check_accessibility(page, visited)
        assert await page.evaluate(NO_SIDEWAYS_SCROLL)
        await page.click("#back-to-page")
        await page.wait_for_url("**/services")
        assert len(visited) == 7  # four pages, the form, its error, the thanks
        await browser.close()


@pytest.mark.parametrize(
    ("locale", "width", "heading"),
    [("en-GB", 1280, "Your account"), ("zh-CN", 375, "您的账户")],
    ids=["en-desktop", "zh-mobile"],
)
async def test_the_account_page_from_the_header_by_keyboard(
    site: Site, locale: str, width: int, heading: str
) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = await browser.new_context(viewport={"width": width, "height": 800}, locale=locale)
        page = await context.new_page()
        visited: list[str] = []
        await page.goto(f"{site.base}/auth/dev-login?next=/services")
        await page.click("button[data-persona=alice]")
        await page.wait_for_url(f"{site.base}/services")
        await page.click("#account-link")
        await page.wait_for_url("**/account")
        assert await page.inner_text("h1") == heading
        await check_accessibility(page, visited)
        await page.fill("#email", "alice@")
        await page.click("#save-account")
        await page.wait_for_selector(".govuk-error-summary")
        assert await page.is_visible("#email-error")
        await check_accessibility(page, visited)
        await page.fill("#email", "alice.chen@example.org")
        await page.check("#channels-2")  # SMS, without a phone number yet
        await page.fill("#phone", "+4915550100")
        await page.click("#save-account")
        await page.wait_for_selector("#saved")
        await check_accessibility(page, visited)
        assert await page.evaluate(NO_SIDEWAYS_SCROLL)
        assert await page.is_checked("#channels-2")
        assert len(visited) == 3
        await browser.close()
