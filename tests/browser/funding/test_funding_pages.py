"""Funding statements in Chromium after a demo load: the labour office's finance officer sees
only labour's statement (another department's address answers "page not found"), the platform
owner sees every department side by side with a chart and its table; every page is axe-clean
(WCAG 2.2 AA)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright

from civicloom.app import create_app
from civicloom.bootstrap import build_container
from civicloom.demo import load_demo
from civicloom.funding import rebuild_days
from civicloom.settings import Settings
from tests.browser.portal.site import CHROMIUM_ARGS, check_accessibility
from tests.browser.serving import CHROMIUM
from tests.conftest import unavailable
from tests.integration.kpis.conftest import generate

pytestmark = pytest.mark.browser
# the departments by their names, as the platform owner reads them
DEPARTMENTS = ("Environment Department", "Labour Office", "Local Administration", "Tax Authority")


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Browser tests run on SQLite: both databases are covered by the integration tests."""
    return str(request.param)


@pytest.fixture
async def base(settings: Settings) -> AsyncIterator[str]:
    """The app over real HTTP, after the load generator ran and the facts were built."""
    if shutil.which(CHROMIUM) is None:
        unavailable("Chromium", FileNotFoundError(CHROMIUM))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    container = build_container(settings.model_copy(update={"public_url": url}))
    await load_demo(container, progress=lambda _: None)
    await generate(container, count=6)
    today = datetime.now(UTC).date()
    await rebuild_days(container.uow(), today - timedelta(days=90), today)
    server = uvicorn.Server(
        uvicorn.Config(create_app(container), log_config=None, access_log=False, lifespan="on")
    )
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(300):
            if server.started:
                break
            await asyncio.sleep(0.05)
        yield url
    finally:
        server.should_exit = True
        await serving
        sock.close()
        with contextlib.suppress(Exception):
            await container.database.dispose()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium."""
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


async def _signed_in(browser: Browser, base: str, persona: str) -> Page:
    page = await (await browser.new_context(accept_downloads=True)).new_page()
    await page.goto(f"{base}/backoffice/funding")
    await page.wait_for_url("**/auth/dev-login**")
    await page.click(f"button[data-persona={persona}]")
    await page.wait_for_url(f"{base}/backoffice/funding")
    return page


async def test_finance_officer_sees_only_labour(base: str, browser: Browser) -> None:
    visited: list[str] = []
    month = f"{datetime.now(UTC):%Y-%m}"
    page = await _signed_in(browser, base, "farah")
    assert await page.locator("h1").inner_text() == "Funding shared platforms"
    links = page.locator("table.govuk-table tbody th a")
    assert await links.all_inner_texts() == ["Labour Office"]
    await check_accessibility(page, visited)

    await links.first.click()
    await page.wait_for_url(f"{base}/backoffice/funding/labour/{month}")
    assert await page.locator("h1").inner_text() == f"Labour Office: {month}"
    await check_accessibility(page, visited)
    async with page.expect_download() as info:
        await page.click("text=Download this statement (CSV)")
    body = (await (await info.value).path()).read_text()
    assert body.startswith("component,funding,meter,")

    await page.click("text=Usage per day and service")
    await page.wait_for_url(f"{base}/backoffice/funding/labour/{month}/days")
    await check_accessibility(page, visited)

    answer = await page.goto(f"{base}/backoffice/funding/tax/{month}")
    assert answer is not None
    assert answer.status == 404
    assert await page.locator("h1").inner_text() == "Page not found"
    await check_accessibility(page, visited)

    await page.goto(f"{base}/backoffice/funding?month=soon")
    await page.wait_for_selector(".govuk-error-summary")
    await check_accessibility(page, visited)
    assert len(visited) == 5


async def test_platform_owner_sees_every_department(base: str, browser: Browser) -> None:
    visited: list[str] = []
    page = await _signed_in(browser, base, "omar")
    links = page.locator("table.govuk-table tbody th a")
    assert sorted(await links.all_inner_texts()) == list(DEPARTMENTS)
    assert await page.locator("svg[role=img]").count() == 1
    await check_accessibility(page, visited)
    await page.get_by_role("link", name="Tax Authority", exact=True).click()
    await page.wait_for_selector("text=Download this statement (PDF)")
    assert (await page.locator("h1").inner_text()).startswith("Tax Authority: ")
    await check_accessibility(page, visited)
