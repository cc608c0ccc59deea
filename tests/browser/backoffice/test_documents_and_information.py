"""An officer's documents and questions in Chromium: Elena (environment) opens the floor plan
Alice uploaded — served inline as the very file — and does not see the lease her department
may not read; she asks for more information from the task page, the task then waits for the
applicant; Alice reads the question on her application page and answers it; Elena reads the
answer on the task page. In English at 1280 px and in Chinese at 375 px, every page checked by
``check_page`` (axe, no raw ids, screenshot). Departments are the back-office harness's
in-process answers; the case engine runs for real."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser

from civicloom.settings import Settings
from tests.browser.backoffice.site import BackOffice, running_back_office
from tests.browser.portal.site import poll
from tests.browser.serving import VARIANTS, Variant, check_page, sign_in_as, signed_in
from tests.integration.backoffice.world import submit, task_of
from tests.unit.documents import samples

pytestmark = pytest.mark.browser

ALICE = {"Authorization": "Bearer dev:alice"}
QUESTION = "Please send the kitchen extraction plan and its capacity in cubic metres per hour."
ANSWER = "The extraction plan is uploaded: 2400 cubic metres per hour."
WORDS = {
    "en": {
        "sent": "Your request was sent to the applicant.",
        "waiting": "Waiting for the applicant",
        "floor_plan": "Floor plan of the premises",
        "answer": "Answer from the applicant",
    },
    "zh-Hans": {
        "sent": "您的请求已发送给申请人。",
        "waiting": "等待申请人",
        "floor_plan": "经营场所平面图",
        "answer": "申请人的回答",
    },
}


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Browser tests run on SQLite: the database paths are covered by the integration tests."""
    return str(request.param)


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[BackOffice]:
    """The back office served over HTTP with the case engine working in the background."""
    async with running_back_office(settings) as running:
        yield running


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


@pytest.mark.parametrize("variant", VARIANTS)
async def test_officer_opens_a_document_asks_and_reads_the_answer(
    site: BackOffice, browser: Browser, variant: Variant
) -> None:
    words = WORDS[variant.lang]
    visited: list[str] = []
    app_id = await submit(site.container, f"browser-documents-{variant.lang}", seating=60)
    task_id = await inspection_waiting(site, app_id)
    plan = samples.png(4, 3, text=b"Golden Dragon floor plan")
    await upload(site, app_id, "floor_plan", "Floor plan.png", plan)
    await upload(site, app_id, "lease", "Lease.pdf", samples.pdf("Lease"))

    page = await signed_in(browser, site.base, "elena", variant, f"/backoffice/tasks/{task_id}")
    await check_page(page, "task", visited)
    documents = page.locator("#documents li")
    assert await documents.count() == 1  # the lease is not for the environment department
    assert "Floor plan.png" in await documents.first.inner_text()
    assert "image/png" in await documents.first.inner_text()
    assert words["floor_plan"] in await documents.first.inner_text()  # the type's title

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
    await page.click("form[action$='/information-request'] button")
    await page.wait_for_url("**?done=asked")
    assert words["sent"] in await page.inner_text(".govuk-notification-banner")
    assert await page.inner_text("#task-state") == words["waiting"]
    assert await page.locator("#decision-form").count() == 0  # nothing to decide meanwhile
    assert (await task_of(site.container, app_id, "inspection")).state == "awaiting_applicant"
    await check_page(page, "asked", visited)

    # Alice sees the question on her application page and answers it.
    await sign_in_as(page, site.base, "alice", f"/applications/{app_id}")
    assert QUESTION in await page.inner_text("#information-request")
    assert await page.locator("#answer").count() == 1
    assert (
        await page.locator("[data-step=inspection] [data-step-state]").get_attribute(
            "data-step-state"
        )
        == "awaiting_applicant"
    )
    await check_page(page, "question", visited)
    await page.fill("#answer", ANSWER)
    await page.click("#information-request button")
    await page.wait_for_url("**answered=1")
    assert await page.locator("#information-request").count() == 0
    await check_page(page, "answered", visited)

    # Elena reads the answer beside her question on the task page.
    await sign_in_as(page, site.base, "elena", f"/backoffice/tasks/{task_id}")
    answer = page.locator("#exchanges [data-kind=answer]")
    assert await answer.count() == 1
    assert words["answer"] in await answer.inner_text()
    assert ANSWER in await answer.inner_text()
    assert QUESTION in await page.inner_text("#exchanges [data-kind=request]")
    await check_page(page, "answer", visited)
    assert len(visited) == 5
    await page.context.close()
