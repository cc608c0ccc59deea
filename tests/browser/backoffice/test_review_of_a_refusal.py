"""A review of a refusal in Chromium (ADR 0059): Olivia refuses Alice's licensing review; Alice
(English, 1280 px) asks for a review with a supporting PDF; Nora, who did not refuse, overturns
it from the back office; the case goes on through the engine and Alice sees the fee due. Then
in Chinese at 375 px: Alice's second refusal, the form's error beside the field, her request,
Grace upholding it, and Alice reading the answer with the next avenue. axe-core on every new
page in both passes, by ``check_page`` (axe, no raw ids, screenshot in the test artefacts)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from civicloom.applications import OfficerDecision, decide_task
from civicloom.settings import Settings
from tests.browser.backoffice.site import BackOffice, running_back_office
from tests.browser.portal.site import poll
from tests.browser.serving import EN_DESKTOP, ZH_PHONE, check_page, new_page, sign_in_as
from tests.integration.backoffice.world import persona, submit, task_of
from tests.unit.documents import samples

pytestmark = pytest.mark.browser
REFUSAL = "The premises are in a residential zone"
WHY = "The zoning plan was changed in 2025: the parcel is commercial. The decision attached."


@pytest.fixture(scope="module")
async def site(module_settings: Settings) -> AsyncIterator[BackOffice]:
    """The app served over HTTP with the case engine working in the background."""
    async with running_back_office(module_settings) as running:
        yield running


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


async def as_person(page: Page, site: BackOffice, who: str, path: str) -> None:
    """Sign in afresh (dev login) and land on ``path``, in the page's own language."""
    await sign_in_as(page, site.base, who, path)


async def test_citizen_asks_officer_overturns_case_goes_on(
    site: BackOffice, browser: Browser, tmp_path: Path
) -> None:
    visited: list[str] = []
    app_id = await refused(site, "browser-review-en")
    evidence = tmp_path / "zoning-decision.pdf"
    evidence.write_bytes(samples.pdf("Zoning decision 2025"))
    page = await new_page(browser, EN_DESKTOP)

    # Alice reads the refusal and asks for a review.
    await as_person(page, site, "alice", f"/applications/{app_id}")
    assert "If you disagree with the decision" in await page.inner_text("#review")
    await page.click("#ask-review")
    await page.wait_for_url(f"**/applications/{app_id}/review")
    assert REFUSAL in await page.inner_text("#refusal")
    await check_page(page, "review-form", visited)
    await page.fill("#reason", WHY)
    await page.set_input_files("#document", str(evidence))
    await page.click("button:has-text('Ask for a review')")
    await page.wait_for_url(f"**/applications/{app_id}?review=asked")
    assert "You asked for a review on" in await page.inner_text("#review-state")
    assert "You asked for a review of the decision" in await page.inner_text("#timeline")
    await check_page(page, "asked", visited)

    # Nora, who did not refuse, overturns it.
    await as_person(page, site, "nora", "/backoffice/reviews")
    await check_page(page, "reviews", visited)
    await page.click(f"#reviews a:has-text('{await _reference(site, app_id)}')")
    await page.wait_for_url("**/backoffice/reviews/*")
    assert WHY in await page.inner_text("#applicant-reason")
    assert await page.inner_text("#review-state") == "Waiting for a decision"
    await check_page(page, "review", visited)
    await page.check("#decision-2")  # overturn
    await page.fill("#reason", "The 2025 zoning plan makes the parcel commercial.")
    await page.click("button:has-text('Record the decision')")
    await page.wait_for_url("**?done=overturn")
    assert await page.inner_text("#review-state") == "Refusal overturned"
    await check_page(page, "overturned", visited)

    # The case goes on through the engine: the fee is due; Alice sees it.
    async def fee_due() -> bool:
        return (await task_of(site.container, app_id, "payment")).state == "awaiting_external"

    await poll(fee_due, "the fee after the overturn")
    await as_person(page, site, "alice", f"/applications/{app_id}")
    assert "changed it: your application goes on" in await page.inner_text("#review-state")
    assert "Payment due" in await page.inner_text("#state")
    timeline = await page.inner_text("#timeline")
    assert "Local Administration looked at the decision again and changed it" in timeline
    await check_page(page, "progress", visited)
    await page.context.close()

    # In Chinese at 375 px: the form's error, the request, Grace upholds, Alice reads why.
    second = await refused(site, "browser-review-zh")
    page = await new_page(browser, ZH_PHONE)
    await as_person(page, site, "alice", f"/applications/{second}/review")
    assert await page.inner_text("h1") == f"申请复核申请 {await _reference(site, second)} 的决定"
    await check_page(page, "review-form", visited)
    await page.click("button:has-text('申请复核')")
    await page.wait_for_selector("#reason-error")  # the same page, answered 400
    assert "请填写需要重新审查该决定的理由" in await page.inner_text("#reason-error")
    await check_page(page, "error", visited)
    await page.fill("#reason", "分区规划已于 2025 年变更。")
    await page.click("button:has-text('申请复核')")
    await page.wait_for_url(f"**/applications/{second}?review=asked")

    await as_person(page, site, "grace", "/backoffice/reviews")
    await check_page(page, "reviews", visited)
    await page.click(f"#reviews a:has-text('{await _reference(site, second)}')")
    await page.wait_for_url("**/backoffice/reviews/*")
    assert await page.inner_text("#review-state") == "等待决定"
    await check_page(page, "review", visited)
    await page.check("#decision")  # uphold
    await page.fill("#reason", "该地块在现行分区规划中仍为住宅用地。")
    await page.click("button:has-text('记录决定')")
    await page.wait_for_url("**?done=uphold")
    await check_page(page, "upheld", visited)

    await as_person(page, site, "alice", f"/applications/{second}")
    review = await page.inner_text("#review")
    assert "维持原决定" in review
    assert "该地块在现行分区规划中仍为住宅用地。" in review
    assert "行政法院" in await page.inner_text("#next-avenue")
    await check_page(page, "answer", visited)
    await page.context.close()
    assert len(visited) == 12  # six new or changed pages in each language


async def _reference(site: BackOffice, app_id: str) -> str:
    from civicloom.applications.tables import ApplicationRow

    async with site.container.uow() as uow:
        app = await uow.session.get(ApplicationRow, app_id)
        assert app is not None
        return app.reference
