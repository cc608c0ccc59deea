"""Done when (issue 20): in Chromium, Sam (service owner, local-admin) drafts a fee change and a
new form field; the diff and the what-if ("2 of the last 3 applications would pay €100 more")
are shown; he cannot approve his own change; the local administration's rule owner (Ruth) and
the central team's quality gate (Gabriel) approve; when the clock reaches the scheduled date
the worker's job publishes it; new applications get the new form and fee, running ones keep
their version. Every page is axe-clean (WCAG 2.2 AA)."""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright

from civicloom.app import create_app
from civicloom.bootstrap import governance_workspace
from civicloom.demo import RESTAURANT_ANSWERS
from civicloom.governance import publish_due_changes
from civicloom.kernel import FixedClock
from civicloom.rules import list_decisions
from civicloom.runtime import Container
from tests.browser.portal.site import CHROMIUM_ARGS, check_accessibility
from tests.browser.serving import CHROMIUM
from tests.conftest import unavailable

pytestmark = pytest.mark.browser
ALICE = {"Authorization": "Bearer dev:alice"}
TESTS_YAML = """cases:
  - name: Golden Dragon Kitchen, 40 seats, pays the small-band fee
    input: {seating: 40}
    expect: {fee: 500, band: small, currency: EUR}
  - name: a 12-seat cafe pays the micro fee
    input: {seating: 12}
    expect: {fee: 150, band: micro}
"""


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Browser tests run on SQLite: both databases are covered by the integration tests."""
    return str(request.param)


@pytest.fixture
async def base(container: Container) -> AsyncIterator[str]:
    """The demo platform over real HTTP, on a clock the test moves."""
    if shutil.which(CHROMIUM) is None:
        unavailable("Chromium", FileNotFoundError(CHROMIUM))
    container.clock = FixedClock(datetime.now(UTC))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
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


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium."""
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


async def signed_in(browser: Browser, base: str, persona: str, path: str) -> Page:
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{base}{path}")
    await page.wait_for_url("**/auth/dev-login**")
    await page.click(f"button[data-persona={persona}]")
    await page.wait_for_url(f"{base}{path}")
    return page


async def apply(base: str, seating: int) -> dict[str, Any]:
    """Alice applies through the public API."""
    data = {**RESTAURANT_ANSWERS, "seating": seating}
    async with httpx.AsyncClient(base_url=base) as http:
        made = await http.post(
            "/api/v1/applications",
            json={"service": "open-a-restaurant", "data": data},
            headers={**ALICE, "Idempotency-Key": f"browser-governance-{seating}-{datetime.now()}"},
        )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


async def fee(container: Container, application_id: str) -> tuple[int, int]:
    async with container.uow() as uow:
        decisions = await list_decisions(uow.session, application_id)
    (decision,) = [d for d in decisions if d.purpose == "fees"]
    return decision.version, int(decision.output["fee"])


async def test_a_fee_change_and_a_new_field_from_draft_to_publication(
    base: str, browser: Browser, container: Container
) -> None:
    running = [await apply(base, 40), await apply(base, 30), await apply(base, 12)]
    visited: list[str] = []

    sam = await signed_in(browser, base, "sam", "/backoffice/changes")
    await check_accessibility(sam, visited)
    await sam.select_option("#target", "blueprint:open-a-restaurant")
    await sam.fill("#title", "Small-band fee €500 and outdoor seats")
    await sam.click("text=Start the draft")
    await sam.wait_for_selector("text=Edit the draft")
    change_url = sam.url
    await check_accessibility(sam, visited)

    await sam.fill("#name", "outdoor_seats")
    await sam.select_option("#type", "integer")
    await sam.fill("#title_en", "Outdoor seats")
    await sam.fill("#title_zh", "室外座位数")
    await sam.select_option("#page", "premises")
    await sam.select_option("#data_class", "business")
    await sam.fill("#legal_basis", "Food Business Licensing Act 2019, s. 12")
    await sam.fill("#retention", "P6Y")
    await sam.click("text=Save the field")
    await sam.wait_for_selector("text=Form field outdoor_seats added (integer, “Outdoor seats”)")

    await sam.fill('[name="cell:fee-table:small:out_fee"]', "500")
    await sam.fill("#tests", TESTS_YAML)
    await sam.click("text=Save the rule table")
    await sam.wait_for_selector(
        "text=Licence fee table, row “21 to 40 seats: small band”, Fee: 400 → 500"
    )
    checks = await sam.locator("[data-check=what-if]").inner_text()
    assert "local-admin/licence-fee: 2 of the last 3 applications would get another decision" in (
        checks
    )
    assert "2 of the last 3 applications would pay €100 more" in checks
    await check_accessibility(sam, visited)

    day = (container.clock.now() + timedelta(days=7)).date()
    await sam.fill("#effective-day", str(day.day))
    await sam.fill("#effective-month", str(day.month))
    await sam.fill("#effective-year", str(day.year))
    await sam.click("#submit button")
    await sam.wait_for_selector("text=Awaiting approval")
    await sam.click("#approve-button")
    await sam.wait_for_selector("text=You wrote this change: someone else must approve it")
    await check_accessibility(sam, visited)

    path = change_url.removeprefix(base)
    for persona, name in (("ruth", "Ruth Adeyemi"), ("gabriel", "Gabriel Costa")):
        approver = await signed_in(browser, base, persona, path)
        await approver.click("#approve-button")
        await approver.wait_for_selector(f"text=Approved by {name}")
        await check_accessibility(approver, visited)
    await approver.wait_for_selector("text=Approved, scheduled")

    # the scheduled date comes; the worker's job publishes the change
    clock = container.clock
    assert isinstance(clock, FixedClock)
    ws = governance_workspace(container)
    assert await publish_due_changes(container.uow(), clock, ws) == 0
    clock.advance(timedelta(days=7))
    assert await publish_due_changes(container.uow(), clock, ws) == 1
    # a week later Sam signs in again (sessions end meanwhile)
    sam = await signed_in(browser, base, "sam", path)
    assert await sam.locator("h1 .govuk-tag").inner_text() == "Published"
    await sam.click("text=Change history of this service")
    await sam.wait_for_selector("h1:has-text('Change history of open-a-restaurant')")
    await check_accessibility(sam, visited)

    after = await apply(base, 40)
    # the demo publishes open-a-restaurant v5 (ADR 0050 added its ownership declarations)
    assert after["blueprint_version"] == 6
    assert [r["blueprint_version"] for r in running] == [5, 5, 5]
    assert [await fee(container, a["id"]) for a in [*running, after]] == [
        (1, 400),
        (1, 400),
        (1, 150),
        (2, 500),
    ]
    async with httpx.AsyncClient(base_url=base) as http:
        for app in running:
            shown = await http.get(f"/api/v1/applications/{app['id']}", headers=ALICE)
            assert shown.json()["blueprint_version"] == 5
    assert len(visited) == 7
