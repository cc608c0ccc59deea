"""In Chromium, no page loads anything from outside the deployment and nothing breaks the
Content-Security-Policy: the API docs (Swagger UI from the installed npm package), the portal's
start page and a back-office page (ADR 0035)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, Request, async_playwright

from civicloom.settings import Settings
from tests.browser.backoffice.site import BackOffice, running_back_office, sign_in
from tests.browser.portal.site import CHROMIUM_ARGS
from tests.browser.serving import CHROMIUM

pytestmark = pytest.mark.browser


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Browser tests run on SQLite only: the database paths are covered elsewhere."""
    return str(request.param)


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[BackOffice]:
    async with running_back_office(settings) as running:
        yield running


class Watched:
    """Every request a page made and every console error it printed."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.errors: list[str] = []

    def on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def foreign(self, base: str) -> list[str]:
        """Requests to any origin other than the deployment's."""
        ours = urlsplit(base)
        return [
            url
            for url in self.requests
            if not url.startswith("data:")
            and (urlsplit(url).scheme, urlsplit(url).netloc) != (ours.scheme, ours.netloc)
        ]


@pytest.fixture
async def watched_page() -> AsyncIterator[tuple[Page, Watched]]:
    async with async_playwright() as pw:
        browser: Browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = await browser.new_context()
        page = await context.new_page()
        watched = Watched()
        page.on("request", watched.on_request)
        page.on("console", watched.on_console)
        yield page, watched
        await browser.close()


async def test_pages_load_only_from_the_deployment(
    site: BackOffice, watched_page: tuple[Page, Watched]
) -> None:
    page, watched = watched_page

    await page.goto(f"{site.base}/api/v1/docs")
    # Swagger UI rendered the committed API description: its title comes from openapi.json.
    await page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
    assert "civicloom" in (await page.inner_text(".swagger-ui .info .title"))
    assert any(u.endswith("/api-docs/swagger-ui-bundle.js") for u in watched.requests)
    assert any(u.endswith("/api/v1/openapi.json") for u in watched.requests)

    await page.goto(f"{site.base}/")
    await page.wait_for_load_state("networkidle")
    # GOV.UK Frontend's body classes come from a static file, not an inline script.
    classes = await page.evaluate("document.body.className")
    assert "js-enabled" in classes
    assert "govuk-frontend-supported" in classes
    assert await page.is_visible("[data-dev-banner]")

    await sign_in(page, site, "olivia", "/backoffice/tasks")
    await page.wait_for_load_state("networkidle")
    assert "Work queue" in await page.content()

    assert watched.foreign(site.base) == []
    assert [e for e in watched.errors if "Content Security Policy" in e] == []
    assert len(watched.requests) > 10
