"""Each back-office role's main path in Chromium with the demo personas, axe-clean, keyboard
usable: Elena schedules an inspection and approves; Grace sees and reassigns a breached task;
Priya re-drives a dead-lettered call after the department recovers; Ada finds every access to
Alice's data; Sam reads the journey and replays a rule. The demo applications are driven
through the real case engine running in the background."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from playwright.async_api import Browser, Page, async_playwright

from civicloom.applications import claim_task
from civicloom.settings import Settings
from tests.browser.backoffice.site import BackOffice, running_back_office, sign_in, tab_to
from tests.browser.portal.site import CHROMIUM_ARGS, check_accessibility, poll
from tests.browser.serving import CHROMIUM
from tests.integration.backoffice.world import overdue, persona, submit, task_of

pytestmark = pytest.mark.browser


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
async def page() -> AsyncIterator[Page]:
    """A fresh page in headless Debian Chromium."""
    async with async_playwright() as pw:
        browser: Browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = await browser.new_context()
        yield await context.new_page()
        await browser.close()


async def wait_for_step(site: BackOffice, app_id: str, step: str, state: str) -> str:
    """Wait until the engine has brought a step to a state; returns its task id."""
    found: dict[str, str] = {}

    async def reached() -> bool:
        try:
            task = await task_of(site.container, app_id, step)
        except AssertionError:
            return False
        found["id"] = task.id
        return task.state == state

    await poll(reached, f"{step} to be {state}")
    return found["id"]


async def test_elena_schedules_an_inspection_and_approves(site: BackOffice, page: Page) -> None:
    visited: list[str] = []
    app_id = await submit(site.container, "browser-elena", seating=60)
    task_id = await wait_for_step(site, app_id, "inspection", "awaiting_officer")

    await sign_in(page, site, "elena", "/backoffice/tasks")
    await check_accessibility(page, visited)
    row = page.locator(f"tr[data-task='{task_id}']")
    await row.get_by_role("button", name="Claim").click()
    await page.wait_for_url(f"**/backoffice/tasks/{task_id}?done=claimed")
    await check_accessibility(page, visited)
    assert await page.locator("#assignee").inner_text() == "Elena Rossi"
    assert await page.locator("[data-field=seating]").inner_text() == "60"
    assert await page.locator("[data-field=contact_email]").count() == 0
    assert "Inspection routing" in await page.locator("body").inner_text()

    day = (site.container.clock.now() + timedelta(days=3)).date()
    await page.fill("#planned_on", day.isoformat())
    await page.fill("#inspection_note", "Check the extraction hood")
    await page.click("button:has-text('Schedule inspection')")
    await page.wait_for_url("**?done=scheduled")
    assert await page.locator("#inspections li").count() == 1
    # the timeline says the day in words ("8 December 2026"), as the officer reads it
    assert f"{day.day} {day:%B %Y}" in await page.locator("#timeline").inner_text()
    await check_accessibility(page, visited)

    # The decision by keyboard alone: focus the first radio, choose, tab to the button, Enter.
    await page.focus("#decision")
    await page.keyboard.press("Space")
    await tab_to(page, "#decision-form button")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**?done=approve")
    assert "completed" in (await task_of(site.container, app_id, "inspection")).state
    assert await page.locator("#decision-form").count() == 0
    assert len(visited) == 3


async def test_grace_sees_and_reassigns_a_breached_task(site: BackOffice, page: Page) -> None:
    visited: list[str] = []
    app_id = await submit(site.container, "browser-grace")
    task_id = await wait_for_step(site, app_id, "licensing_review", "awaiting_officer")
    await overdue(site.container, task_id)

    await sign_in(page, site, "grace", "/backoffice/supervision")
    await check_accessibility(page, visited)
    row = page.locator(f"tr[data-task='{task_id}']")
    assert "Breached" in await row.inner_text()
    await row.locator("select").select_option("olivia")
    await row.get_by_role("button", name="Reassign").click()
    await page.wait_for_url("**/backoffice/supervision?done=assigned")
    await check_accessibility(page, visited)
    assert "olivia" in await page.locator(f"tr[data-task='{task_id}']").inner_text()
    assert "olivia" in await page.locator("#workload").inner_text()
    assert (await task_of(site.container, app_id, "licensing_review")).assignee == "olivia"

    # In Chinese the same page reads in Chinese.
    await page.click("a[hreflang=zh-Hans]")
    await page.wait_for_url("**/backoffice/supervision**")
    assert await page.locator("h1").inner_text() == "督导"
    await check_accessibility(page, visited)


async def test_grace_takes_over_a_task_olivia_holds(site: BackOffice, page: Page) -> None:
    visited: list[str] = []
    app_id = await submit(site.container, "browser-takeover")
    task_id = await wait_for_step(site, app_id, "licensing_review", "awaiting_officer")
    olivia = persona(site.container, "olivia")
    await claim_task(site.container.uow(), site.container.clock, olivia, task_id)

    await sign_in(page, site, "grace", f"/backoffice/tasks/{task_id}")
    await check_accessibility(page, visited)
    assert await page.locator("#assignee").inner_text() == "Olivia Grant"
    assert await page.locator("#not-yours").count() == 1
    assert await page.locator("#decision-form").count() == 0
    await page.get_by_role("button", name="Take over this task").click()
    await page.wait_for_url(f"**/backoffice/tasks/{task_id}?done=claimed")
    await check_accessibility(page, visited)
    assert await page.locator("#assignee").inner_text() == "Grace Park"
    assert await page.locator("#decision-form").count() == 1
    assert "Task taken over by a supervisor" in await page.locator("#history").inner_text()
    assert (await task_of(site.container, app_id, "licensing_review")).assignee == "grace"


async def test_priya_redrives_a_dead_letter_after_the_department_recovers(
    site: BackOffice, page: Page
) -> None:
    visited: list[str] = []
    site.departments.down.add("tax.clearance_check")
    app_id = await submit(site.container, "browser-priya")
    await wait_for_step(site, app_id, "tax", "failed")

    await sign_in(page, site, "priya", "/backoffice/operations")
    await check_accessibility(page, visited)
    letters = page.locator("#dead-letters tbody tr")
    assert await letters.count() == 1
    assert "tax.clearance_check" in await letters.first.inner_text()
    assert "refused the call" in await letters.first.inner_text()

    site.departments.down.clear()  # the tax authority's system is back
    await letters.first.get_by_role("button", name="Re-drive").click()
    await page.wait_for_url("**/backoffice/operations?done=redriven")
    await check_accessibility(page, visited)
    await wait_for_step(site, app_id, "tax", "completed")
    await page.reload()
    assert await page.locator("#no-dead-letters").count() == 1


async def test_ada_finds_every_access_to_alices_data(site: BackOffice, page: Page) -> None:
    visited: list[str] = []
    app_id = await submit(site.container, "browser-ada", seating=60)
    task_id = await wait_for_step(site, app_id, "inspection", "awaiting_officer")
    await sign_in(page, site, "elena", f"/backoffice/tasks/{task_id}")  # Elena reads the file
    await page.context.clear_cookies()

    await sign_in(page, site, "ada", "/backoffice/audit")
    await check_accessibility(page, visited)
    await page.fill("#person", "alice")
    await page.check("#reads")
    await tab_to(page, "#audit-search button")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/backoffice/audit?**person=alice**")
    await check_accessibility(page, visited)
    results = await page.locator("#audit-results").inner_text()
    assert "dev-login:elena" in results
    assert "Environment Department" in results  # the department by name
    assert "Application read" in results  # the action in words
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    reads = page.locator("#audit-results tbody tr")
    assert await reads.count() >= 1
    assert (
        await page.locator("#audit-results tr[data-action]:not([data-action$='.read'])").count()
        == 0
    )

    async with page.expect_download() as download:
        await page.click("text=Export these entries (JSON Lines)")
    exported = await (await download.value).path()
    assert "dev-login:elena" in exported.read_text()

    await page.click("text=Verify every chain and seal now")
    assert "intact" in await page.locator("#verdict").inner_text()
    await check_accessibility(page, visited)


async def test_sam_reads_the_journey_and_replays_a_rule(site: BackOffice, page: Page) -> None:
    visited: list[str] = []
    await sign_in(page, site, "sam", "/backoffice/services")
    await check_accessibility(page, visited)
    await page.click("a[href='/backoffice/services/open-a-restaurant/versions/5']")
    assert await page.locator("#journey svg").count() == 1
    await check_accessibility(page, visited)
    await page.go_back()
    await page.click("a[href*='what-if?model=local-admin/licence-fee']")
    assert await page.locator("#changed").inner_text() == "0"
    await check_accessibility(page, visited)
