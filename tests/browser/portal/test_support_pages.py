"""Help, contact, privacy, cookies and feedback in Chromium (issue 19): reached from the footer
and the Beta banner as a visitor would, axe-clean in English on a desktop and in Simplified
Chinese at 375 px, and a feedback answer sent by keyboard after a missing answer is explained."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser

from civicloom.settings import Settings
from tests.browser.portal.site import Site, running_site
from tests.browser.serving import (
    EN_DESKTOP,
    NO_SIDEWAYS_SCROLL,
    ZH_PHONE,
    Variant,
    check_page,
    new_page,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
async def site(module_settings: Settings) -> AsyncIterator[Site]:
    """The portal served over HTTP, shared by the module's walks."""
    async with running_site(module_settings) as running:
        yield running


@pytest.mark.parametrize(
    ("variant", "headings"),
    [
        (EN_DESKTOP, ["Help with applying", "Contact us", "Privacy notice", "Cookies"]),
        (ZH_PHONE, ["申请帮助", "联系我们", "隐私声明", "Cookie"]),
    ],
    ids=["en-desktop", "zh-mobile"],
)
async def test_support_pages_from_the_footer_and_feedback_from_the_banner(
    site: Site, browser: Browser, variant: Variant, headings: list[str]
) -> None:
    page = await new_page(browser, variant)
    visited: list[str] = []
    for path, heading in zip(["/help", "/contact", "/privacy", "/cookies"], headings, strict=True):
        await page.goto(f"{site.base}/services")
        await page.click(f'footer a[href="{path}"]')
        await page.wait_for_url(f"**{path}")
        assert await page.inner_text("h1") == heading
        await check_page(page, path.strip("/"), visited)
        assert await page.evaluate(NO_SIDEWAYS_SCROLL), path

    await page.goto(f"{site.base}/services")
    await page.click(".govuk-phase-banner a")
    await page.wait_for_url("**/feedback?from=/services")
    await check_page(page, "feedback", visited)
    await page.click("#send-feedback")  # no answer chosen
    await page.wait_for_selector(".govuk-error-summary")
    await check_page(page, "feedback-error", visited)
    assert await page.is_visible("#rating-error")
    await page.check("input[name=rating][value=satisfied]")
    await page.fill("#comment", "Clear pages." if variant.lang == "en" else "页面清楚。")
    await page.click("#send-feedback")
    await page.wait_for_selector("#back-to-page")
    await check_page(page, "feedback-thanks", visited)
    assert await page.evaluate(NO_SIDEWAYS_SCROLL)
    await page.click("#back-to-page")
    await page.wait_for_url("**/services")
    assert len(visited) == 7  # four pages, the form, its error, the thanks
    await page.context.close()


@pytest.mark.parametrize(
    ("variant", "heading"),
    [(EN_DESKTOP, "Your account"), (ZH_PHONE, "您的账户")],
    ids=["en-desktop", "zh-mobile"],
)
async def test_the_account_page_from_the_header_by_keyboard(
    site: Site, browser: Browser, variant: Variant, heading: str
) -> None:
    page = await new_page(browser, variant)
    visited: list[str] = []
    await page.goto(f"{site.base}/auth/dev-login?next=/services")
    await page.click("button[data-persona=alice]")
    await page.wait_for_url(f"{site.base}/services")
    await page.click("#account-link")
    await page.wait_for_url("**/account")
    assert await page.inner_text("h1") == heading
    await check_page(page, "account", visited)
    await page.fill("#email", "alice@")
    await page.click("#save-account")
    await page.wait_for_selector(".govuk-error-summary")
    assert await page.is_visible("#email-error")
    await check_page(page, "account-error", visited)
    await page.fill("#email", "alice.chen@example.org")
    await page.check("#channels-2")  # SMS, without a phone number yet
    await page.fill("#phone", "+4915550100")
    await page.click("#save-account")
    await page.wait_for_selector("#saved")
    await check_page(page, "account-saved", visited)
    assert await page.evaluate(NO_SIDEWAYS_SCROLL)
    assert await page.is_checked("#channels-2")
    assert len(visited) == 3
    await page.context.close()
