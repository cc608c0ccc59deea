"""A visitor checks a licence on the public licence check page, reached from the footer, without
signing in (issue 19, journey e): a number mistyped is explained beside the field, then the
number typed leads to "valid", and the licence PDF uploaded is found genuine by the signature
inside it. In English at 1280 px and in Chinese at 375 px, every page checked by ``check_page``
(axe, no raw ids, screenshot); and both ways once more with JavaScript off. The licence is issued
the way the case engine issues it; its PDF is the one Alice downloads over the API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, FilePayload, Page

from civicloom.settings import Settings
from tests.browser.portal.site import Site, running_site
from tests.browser.serving import EN_DESKTOP, VARIANTS, Variant, check_page, new_page
from tests.integration.backoffice.world import submit
from tests.integration.documents.test_licences import issue

pytestmark = pytest.mark.browser

WORDS = {
    "en": {
        "heading": "Check a licence",
        "valid": "This licence is valid",
        "problem": "There is a problem",
        "enter": "Enter the licence number as it is printed, for example LIC-2026-4F7A9C21",
    },
    "zh-Hans": {
        "heading": "核验许可证",
        "valid": "此许可证有效",
        "problem": "出现问题",
        "enter": "请按许可证上印刷的格式输入编号，例如 LIC-2026-4F7A9C21",
    },
}


@pytest.fixture(scope="module")
async def site(module_settings: Settings) -> AsyncIterator[Site]:
    """The portal over HTTP, shared by every walk of this module."""
    async with running_site(module_settings) as running:
        yield running


@pytest.fixture(scope="module")
async def licence(site: Site) -> tuple[str, bytes]:
    """A licence issued to Golden Dragon Kitchen: its number and the PDF Alice downloads."""
    ref = await issue(site.container, await submit(site.container, "browser-licence-check"))
    async with httpx.AsyncClient(
        base_url=site.base, headers={"Authorization": "Bearer dev:alice"}
    ) as alice:
        pdf = await alice.get(f"/api/v1/licences/{ref.id}.pdf")
    assert pdf.status_code == 200, pdf.text
    assert pdf.content.startswith(b"%PDF-")
    return ref.id, pdf.content


async def by_number(page: Page, number: str) -> None:
    await page.fill("#number", number)
    await page.click("form[method=get] button")


async def by_pdf(page: Page, pdf: bytes) -> None:
    await page.set_input_files(
        "#licence_pdf",
        files=FilePayload(name="licence.pdf", mimeType="application/pdf", buffer=pdf),
    )
    await page.click("form[method=post] button")


@pytest.mark.parametrize("variant", VARIANTS)
async def test_a_visitor_checks_a_licence_by_number_and_by_pdf(
    site: Site, browser: Browser, licence: tuple[str, bytes], variant: Variant
) -> None:
    number, pdf = licence
    words = WORDS[variant.lang]
    visited: list[str] = []
    page = await new_page(browser, variant)
    await page.goto(f"{site.base}/services")
    await page.click('footer a[href="/licences/check"]')
    await page.wait_for_url("**/licences/check")
    assert await page.inner_text("h1") == words["heading"]
    await check_page(page, "form", visited)

    await by_number(page, "LIC 2026")  # a space: not as printed
    await page.wait_for_selector(".govuk-error-summary")
    assert words["problem"] in await page.inner_text(".govuk-error-summary")
    assert words["enter"] in await page.inner_text("#number-error")
    await check_page(page, "error", visited)

    await by_number(page, number)
    await page.wait_for_url(f"**/verify/{number}")
    assert await page.get_attribute("h1", "data-status") == "valid"
    assert await page.inner_text("h1") == words["valid"]
    assert "Golden Dragon Kitchen Ltd" in await page.inner_text("main")
    await check_page(page, "by-number", visited)

    await page.goto(f"{site.base}/licences/check")
    await by_pdf(page, pdf)
    await page.wait_for_selector("h1[data-status]")
    assert await page.get_attribute("h1", "data-status") == "valid"
    assert await page.inner_text("h1") == words["valid"]
    assert number in await page.inner_text("main")
    await check_page(page, "by-pdf", visited)
    assert len(visited) == 4
    await page.context.close()


async def test_both_checks_work_without_javascript(
    site: Site, browser: Browser, licence: tuple[str, bytes]
) -> None:
    number, pdf = licence
    page = await new_page(browser, EN_DESKTOP, javascript=False)
    await page.goto(f"{site.base}/licences/check")
    await by_number(page, number)
    await page.wait_for_url(f"**/verify/{number}")
    assert await page.get_attribute("h1", "data-status") == "valid"
    await page.goto(f"{site.base}/licences/check")
    await by_pdf(page, pdf)
    await page.wait_for_selector("h1[data-status]")
    assert await page.get_attribute("h1", "data-status") == "valid"
    assert await page.inner_text("h1") == "This licence is valid"
    await page.context.close()
