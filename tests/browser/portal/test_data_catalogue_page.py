"""In Chromium (ADR 0050): the public data catalogue, reached from the footer without signing
in, in English at 1280 px and in Chinese at 375 px — axe-clean, its tables readable."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from tests.browser.portal.site import Site, check_accessibility
from tests.browser.portal.test_open_a_restaurant import (  # noqa: F401 - fixtures
    backend,
    payment_sim,
    site,
)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("locale", "viewport"),
    [("en", {"width": 1280, "height": 900}), ("zh-Hans", {"width": 375, "height": 812})],
    ids=["en-desktop", "zh-mobile"],
)
async def test_the_data_catalogue_from_the_footer(
    site: Site,  # noqa: F811 - the fixture
    browser: Browser,
    locale: str,
    viewport: dict[str, int],
) -> None:
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = await context.new_page()
    visited: list[str] = []
    await page.goto(f"{site.base}/language/{locale}?next=/services")
    await page.click("footer a[href='/data-catalogue']")
    await page.wait_for_url(f"{site.base}/data-catalogue")
    await check_accessibility(page, visited)
    heading = await page.inner_text("h1")
    director = await page.inner_text(
        "table[data-scope=open-a-restaurant] tr[data-field=director_name]"
    )
    if locale == "en":
        assert heading == "Data catalogue"
        assert "Local Administration" in director
        assert "2 years after the application closes" in director
    else:
        assert heading == "数据目录"
        assert "地方行政局" in director
        assert "申请结束后保存2 年" in director
    await page.click("a[href='#tax.taxpayer_lookup']")
    assert await page.locator("table[data-scope='tax.taxpayer_lookup']").is_visible()
    await context.close()
