"""An officer's documents and questions in Chromium: Elena (environment) opens the floor plan
Alice uploaded — served inline as the very file — and does not see the lease her department
may not read; she asks for more information from the task page, the task then waits for the
applicant, and Alice reads the question on her application page. axe-clean task page.
Departments are the back-office harness's in-process answers; the case engine runs for real."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, async_playwright

from civicloom.settings import Settings
from tests.browser.backoffice.site import BackOffice, running_back_office, sign_in
from tests.browser.portal.site import CHROMIUM_ARGS, check_accessibility, poll
from tests.browser.serving import CHROMIUM
from tests.integration.backoffice.world import submit, task_of
from tests.unit.documents import samples

pytestmark = pytest.mark.browser

ALICE = {"Authorization": "Bearer dev:alice"}
QUESTION = "Please send the kitchen extraction plan and its capacity in cubic metres per hour."


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Browser tests run on SQLite: the database paths are covered by the integration tests."""
    return str(request.param)


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[BackOffice]:
    """The back office served over HTTP with the case engine working in the background."""
    async with running_back_office(settings) as running:
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium."""
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        await b.close()


async def upload(site: BackOffice, app_id: str, kind: str, name: str, content: bytes) -> None:
    """Alice uploads a document to her application over the API."""
    async with httpx.AsyncClient(base_url=site.base, headers=ALICE) as alice:
        response = await alice.post(
            f"/api/v1/applications/{app_id}/documents",
            data={"document_type": kind},
            files={"file": (name, content, "application/octet-stream")},
        )
    assert response.status_code == 201, response.text


async def inspection_waiting(site: BackOffice, app_id: str) -> str:
    """Wait for the environment's inspection task (seating > 50); returns its id."""
    found: dict[str, str] = {}

    async def waiting() -> bool:
        try:
            task = await task_of(site.container, app_id, "inspection")
        except AssertionError:
            return False
        found["id"] = task.id
        return task.state == "awaiting_officer"

    await poll(waiting, "the inspection task")
    return found["id"]


async def test_officer_opens_a_document_and_asks_for_information(
    site: BackOffice, browser: Browser
) -> None:
    visited: list[str] = []
    app_id = await submit(site.container, "browser-documents", seating=60)
    task_id = await inspection_waiting(site, app_id)
    plan = samples.png(4, 3, text=b"Golden Dragon floor plan")
    await upload(site, app_id, "floor_plan", "Floor plan.png", plan)
    await upload(site, app_id, "lease", "Lease.pdf", samples.pdf("Lease"))

    context = await browser.new_context()
    page = await context.new_page()
    await sign_in(page, site, "elena", f"/backoffice/tasks/{task_id}")
    await check_accessibility(page, visited)
    documents = page.locator("#documents li")
    assert await documents.count() == 1  # the lease is not for the environment department
    assert "Floor plan.png" in await documents.first.inner_text()
    assert "image/png" in await documents.first.inner_text()

    # Open it: the browser is given the stored file, inline, sandboxed.
    link = documents.first.locator("a")
    href = await link.get_attribute("href")
    assert href is not None
    assert href.startswith(f"/backoffice/tasks/{task_id}/documents/")
    async with page.expect_response(lambda r: r.url.endswith(href)) as opened:
        await link.click()
    response = await opened.value
    assert response.status == 200
    headers = await response.all_headers()
    assert headers["content-type"] == "image/png"
    assert headers["content-disposition"].startswith("inline;")
    assert "Floor%20plan.png" in headers["content-disposition"]
    assert "sandbox" in headers["content-security-policy"]
    assert await response.body() == plan
    await page.wait_for_url(f"{site.base}{href}")
    shown = page.locator("img")
    await shown.wait_for()
    assert await shown.evaluate("(i) => [i.naturalWidth, i.naturalHeight]") == [4, 3]
    await page.go_back()

    # Ask for more information from the task page.
    await page.wait_for_url(f"**/backoffice/tasks/{task_id}")
    await page.fill("#message", QUESTION)
    await page.click("button:has-text('Send request')")
    await page.wait_for_url("**?done=asked")
    assert "Your request was sent to the applicant." in await page.inner_text(
        ".govuk-notification-banner"
    )
    assert await page.inner_text("#task-state") == "Waiting for the applicant"
    assert await page.locator("#decision-form").count() == 0  # nothing to decide meanwhile
    assert (await task_of(site.container, app_id, "inspection")).state == "awaiting_applicant"
    await check_accessibility(page, visited)

    # Alice sees the question on her application page.
    await context.clear_cookies()
    await sign_in(page, site, "alice", f"/applications/{app_id}")
    assert QUESTION in await page.inner_text("#information-request")
    assert await page.locator("#answer").count() == 1
    assert (
        await page.locator("[data-step=inspection] [data-step-state]").get_attribute(
            "data-step-state"
        )
        == "awaiting_applicant"
    )
    assert len(visited) == 2
    await context.close()
