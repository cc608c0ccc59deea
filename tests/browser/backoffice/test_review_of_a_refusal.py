"""A review of a refusal in Chromium (ADR 0059): Olivia refuses Alice's licensing review; Alice
(English, 1280 px) asks for a review with a supporting PDF; Nora, who did not refuse, overturns
it from the back office; the case goes on through the engine and Alice sees the fee due. Then
in Chinese at 375 px: Alice's second refusal, the form's error beside the field, her request,
Grace upholding it, and Alice reading the answer with the next avenue. axe-core on every new
page in both passes; screenshots in var/test-artefacts/browser/reviews."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from civicloom.applications import OfficerDecision, decide_task
from civicloom.settings import Settings
from tests.browser.backoffice.site import BackOffice, running_back_office
from tests.browser.portal.site import CHROMIUM_ARGS, check_accessibility, poll
from tests.browser.serving import CHROMIUM
from tests.integration.backoffice.world import persona, submit, task_of
from tests.unit.documents import samples

pytestmark = pytest.mark.browser
ARTEFACTS = Path("var/test-artefacts/browser/reviews")
REFUSAL = "The premises are in a residential zone"
WHY = "The zoning plan was changed in 2025: the parcel is commercial. The decision attached."
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 375, "height": 812}


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Browser tests run on SQLite: the database paths are covered by the integration tests."""
    return str(request.param)


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[BackOffice]:
    """The app served over HTTP with the case engine working in the background."""
    async with running_back_office(settings) as running:
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium."""
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        await b.close()


async def refused(site: BackOffice, key: str) -> str:
    """Alice's application, refused by Olivia at the licensing review."""
    app_id = await submit(site.container, key)

    async def waiting() -> bool:
        task = await task_of(site.container, app_id, "licensing_review")
        return task.state == "awaiting_officer"

    await poll(waiting, "the licensing review")
    task = await task_of(site.container, app_id, "licensing_review")
    await decide_task(
        site.container.uow(),
        site.container.clock,
        persona(site.container, "olivia"),
        task.id,
        OfficerDecision.REJECT,
        REFUSAL,
    )
    return app_id


async def as_person(page: Page, site: BackOffice, who: str, locale: str, path: str) -> None:
    """Sign in (dev login) in a language and land on ``path``."""
    await page.context.clear_cookies()
    await page.goto(f"{site.base}/language/{locale}?next=/")
    await page.goto(f"{site.base}/auth/dev-login?next={path}")
    await page.click(f"button[data-persona={who}]")
    await page.wait_for_url(f"{site.base}{path}")


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


async def test_citizen_asks_officer_overturns_case_goes_on(
    site: BackOffice, browser: Browser, tmp_path: Path
) -> None:
    visited: list[str] = []
    app_id = await refused(site, "browser-review-en")
    evidence = tmp_path / "zoning-decision.pdf"
    evidence.write_bytes(samples.pdf("Zoning decision 2025"))
    context = await browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    page = await context.new_page()

    # Alice reads the refusal and asks for a review.
    await as_person(page, site, "alice", "en", f"/applications/{app_id}")
    assert "If you disagree with the decision" in await page.inner_text("#review")
    await page.click("#ask-review")
    await page.wait_for_url(f"**/applications/{app_id}/review")
    assert REFUSAL in await page.inner_text("#refusal")
    await check_accessibility(page, visited)
    await page.fill("#reason", WHY)
    await page.set_input_files("#document", str(evidence))
    await page.click("button:has-text('Ask for a review')")
    await page.wait_for_url(f"**/applications/{app_id}?review=asked")
    assert "You asked for a review on" in await page.inner_text("#review-state")
    assert "You asked for a review of the decision" in await page.inner_text("#timeline")
    await check_accessibility(page, visited)
    await shot(page, "asked-en")

    # Nora, who did not refuse, overturns it.
    await as_person(page, site, "nora", "en", "/backoffice/reviews")
    await check_accessibility(page, visited)
    await page.click(f"#reviews a:has-text('{await _reference(site, app_id)}')")
    await page.wait_for_url("**/backoffice/reviews/*")
    assert WHY in await page.inner_text("#applicant-reason")
    assert await page.inner_text("#review-state") == "Waiting for a decision"
    await check_accessibility(page, visited)
    await page.check("#decision-2")  # overturn
    await page.fill("#reason", "The 2025 zoning plan makes the parcel commercial.")
    await page.click("button:has-text('Record the decision')")
    await page.wait_for_url("**?done=overturn")
    assert await page.inner_text("#review-state") == "Refusal overturned"
    await check_accessibility(page, visited)
    await shot(page, "overturned-en")

    # The case goes on through the engine: the fee is due; Alice sees it.
    async def fee_due() -> bool:
        return (await task_of(site.container, app_id, "payment")).state == "awaiting_external"

    await poll(fee_due, "the fee after the overturn")
    await as_person(page, site, "alice", "en", f"/applications/{app_id}")
    assert "changed it: your application goes on" in await page.inner_text("#review-state")
    assert "Payment due" in await page.inner_text("#state")
    timeline = await page.inner_text("#timeline")
    assert "Local Administration looked at the decision again and changed it" in timeline
    await check_accessibility(page, visited)
    await shot(page, "progress-en")
    await context.close()

    # In Chinese at 375 px: the form's error, the request, Grace upholds, Alice reads why.
    second = await refused(site, "browser-review-zh")
    context = await browser.new_context(viewport=MOBILE)  # type: ignore[arg-type]
    page = await context.new_page()
    await as_person(page, site, "alice", "zh-Hans", f"/applications/{second}/review")
    assert await page.inner_text("h1") == f"申请复核申请 {await _reference(site, second)} 的决定"
    await check_accessibility(page, visited)
    await page.click("button:has-text('申请复核')")
    await page.wait_for_selector("#reason-error")  # the same page, answered 400
    assert "请填写需要重新审查该决定的理由" in await page.inner_text("#reason-error")
    await check_accessibility(page, visited)
    await shot(page, "error-zh")
    await page.fill("#reason", "分区规划已于 2025 年变更。")
    await page.click("button:has-text('申请复核')")
    await page.wait_for_url(f"**/applications/{second}?review=asked")

    await as_person(page, site, "grace", "zh-Hans", "/backoffice/reviews")
    await check_accessibility(page, visited)
    await page.click(f"#reviews a:has-text('{await _reference(site, second)}')")
    await page.wait_for_url("**/backoffice/reviews/*")
    assert await page.inner_text("#review-state") == "等待决定"
    await check_accessibility(page, visited)
    await page.check("#decision")  # uphold
    await page.fill("#reason", "该地块在现行分区规划中仍为住宅用地。")
    await page.click("button:has-text('记录决定')")
    await page.wait_for_url("**?done=uphold")
    await check_accessibility(page, visited)

    await as_person(page, site, "alice", "zh-Hans", f"/applications/{second}")
    review = await page.inner_text("#review")
    assert "维持原决定" in review
    assert "该地块在现行分区规划中仍为住宅用地。" in review
    assert "行政法院" in await page.inner_text("#next-avenue")
    await check_accessibility(page, visited)
    await shot(page, "upheld-zh")
    await context.close()
    assert len(visited) == 12  # six new or changed pages in each language


async def _reference(site: BackOffice, app_id: str) -> str:
    from civicloom.applications.tables import ApplicationRow

    async with site.container.uow() as uow:
        app = await uow.session.get(ApplicationRow, app_id)
        assert app is not None
        return app.reference
