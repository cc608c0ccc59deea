"""The KPI dashboard and the public performance page in Chromium after a demo load: Sam signs
in, reads the charts and their tables, changes the period with the keyboard, downloads the
CSV; every page is axe-clean (WCAG 2.2 AA) and works at 375 px."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from playwright.async_api import Page, async_playwright

from civicloom.app import create_app
from civicloom.bootstrap import build_container
from civicloom.demo import load_demo
from civicloom.runtime import Container
from civicloom.settings import Settings
from tests.browser.portal.site import CHROMIUM_ARGS, check_accessibility
from tests.browser.serving import CHROMIUM
from tests.conftest import unavailable
from tests.integration.kpis.conftest import generate
from tests.kpiwork import run_kpi_jobs

pytestmark = pytest.mark.browser
_SERVED: dict[str, Container] = {}
"""The container behind each served URL: the test runs the worker's KPI jobs on it."""


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Browser tests run on SQLite: both databases are covered by the integration tests."""
    return str(request.param)


@pytest.fixture
async def base(settings: Settings) -> AsyncIterator[str]:
    """The app over real HTTP, after the load generator ran on its database."""
    if shutil.which(CHROMIUM) is None:
        unavailable("Chromium", FileNotFoundError(CHROMIUM))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    container = build_container(settings.model_copy(update={"public_url": url}))
    await load_demo(container, progress=lambda _: None)
    await generate(container, count=6)
    await run_kpi_jobs(container)  # the worker stores the report (ADR 0082)
    _SERVED[url] = container
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
async def page() -> AsyncIterator[Page]:
    """A fresh page in headless Debian Chromium."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = await browser.new_context(accept_downloads=True)
        yield await context.new_page()
        await browser.close()


async def test_sam_reads_the_dashboard_and_downloads_the_figures(base: str, page: Page) -> None:
    visited: list[str] = []
    await page.goto(f"{base}/backoffice/kpis")
    await page.wait_for_url("**/auth/dev-login**")
    await page.click("button[data-persona=sam]")
    await page.wait_for_url(f"{base}/backoffice/kpis")
    assert await page.locator("h1").inner_text() == "Service performance"
    assert await page.locator("svg[role=img]").count() == 4
    assert await page.locator("table.govuk-table").count() >= 4
    await check_accessibility(page, visited)

    await page.fill("#from", "not a date")
    await page.focus("#to")
    await page.keyboard.press("Enter")
    await page.wait_for_selector(".govuk-error-summary")
    await check_accessibility(page, visited)

    await page.fill("#from", "2000-01-01")
    await page.fill("#to", "2000-01-31")
    await page.select_option("#service", "open-a-restaurant")
    await page.click("text=Show figures")
    # A new period: recorded for the worker, the page says so and refreshes itself (ADR 0082).
    await page.wait_for_selector("#kpi-preparing")
    assert await page.locator("h1").inner_text() == "Figures being prepared"
    await check_accessibility(page, visited)
    await run_kpi_jobs(_SERVED[base])
    await page.reload()
    await page.wait_for_selector("text=Applications submitted")
    assert await page.locator(".civicloom-kpi-headline dd").first.inner_text() == "0"
    await page.fill("#from", "")
    await page.fill("#to", "")
    await page.select_option("#service", "open-a-restaurant")
    await page.click("text=Show figures")
    await page.wait_for_selector("text=Download these figures (CSV)")
    async with page.expect_download() as info:
        await page.click("text=Download these figures (CSV)")
    download = await info.value
    body = (await download.path()).read_text()
    assert body.startswith("section,key,department,value")
    assert "applications,submitted,,6" in body, body

    await page.set_viewport_size({"width": 375, "height": 800})
    await page.goto(f"{base}/performance/open-a-restaurant")
    assert await page.locator("h1").inner_text() == "Open a restaurant"
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, "no horizontal scrolling at 375 px"
    await check_accessibility(page, visited)
    assert len(visited) == 4
