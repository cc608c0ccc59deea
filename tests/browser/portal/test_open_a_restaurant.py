"""Alice opens a restaurant in Chromium: sign in, prefill, form, check, send, upload, follow the
four departments, answer a request for information, pay, download and verify the licence —
in English at desktop width and in Chinese at 375 px, with axe-core on every portal page.
Officer actions go through the case-work API; the fee is paid on the payment simulator's hosted
page (a real process), whose signed webhook completes the payment step."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, FilePayload, Page
from pydantic import SecretStr

from civicloom.settings import Settings
from tests.browser.portal.site import (
    Site,
    poll,
    running_site,
)
from tests.browser.serving import check_page
from tests.simulators.harness import SimProcess, start_sim
from tests.unit.documents import samples

pytestmark = pytest.mark.browser

OLIVIA = {"Authorization": "Bearer dev:olivia"}
TEXT = {
    "en": {
        "sign_in": "Sign in to start",
        "continue": "Save and continue",
        "send": "Accept and send",
    },
    "zh-Hans": {"sign_in": "登录后开始", "continue": "保存并继续", "send": "同意并提交"},
}


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Browser tests run on SQLite: the database paths are covered by the integration tests."""
    return str(request.param)


WEBHOOK_SECRET = "browser-test-webhook-secret"


@pytest.fixture(scope="module")
def payment_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    """The payment provider simulator as a real process, with its hosted payment page."""
    workdir: Path = tmp_path_factory.mktemp("payments-sim")
    sim = start_sim("payments", workdir, env={"SIM_PAYMENTS_WEBHOOK_SECRET": WEBHOOK_SECRET})
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
async def site(settings: Settings, payment_sim: SimProcess) -> AsyncIterator[Site]:
    """The portal served over HTTP with the case engine working in the background."""
    payment_sim.reset()
    wired = settings.model_copy(
        update={
            "payments_provider_url": payment_sim.url,
            "payments_webhook_secret": SecretStr(WEBHOOK_SECRET),
        }
    )
    async with running_site(wired) as running:
        yield running


async def sign_in_and_start(page: Page, site: Site, text: dict[str, str]) -> None:
    """From the service page: sign in as Alice (dev login), come back, start."""
    await page.goto(f"{site.base}/services/open-a-restaurant")
    await page.click(f"text={text['sign_in']}")
    await page.click("button[data-persona=alice]")
    await page.wait_for_url(f"{site.base}/services/open-a-restaurant")
    await page.click(".govuk-button--start")


async def fill_form(page: Page, text: dict[str, str], visited: list[str]) -> None:
    """The three form pages (business answers come from the register)."""
    await page.wait_for_url("**/pages/business")
    await check_page(page, "business", visited)
    assert await page.input_value("#business_name") == "Golden Dragon Kitchen Ltd"
    assert await page.locator("[data-prefill-source=business_name]").count() == 1
    await page.click(f"button:has-text('{text['continue']}')")
    await page.wait_for_url("**/pages/premises")
    await page.fill("#parcel_id", "P-0042-117")
    await page.fill("#premises_address", "12 Harbour Street, Riverton")
    await page.fill("#seating", "forty")
    await page.check("#grease_trap")
    await page.select_option("#cuisine", "chinese")
    await page.click(f"button:has-text('{text['continue']}')")
    await page.wait_for_selector(".govuk-error-summary")  # inline + summary, focused by GOV.UK JS
    await check_page(page, "premises-error", visited)
    await page.fill("#seating", "40")
    await page.keyboard.press("Enter")  # the whole form works from the keyboard
    await page.wait_for_url("**/pages/staff")
    await page.fill("#staff_count", "8")
    await page.fill("#opening_date-day", "1")
    await page.fill("#opening_date-month", "3")
    await page.fill("#opening_date-year", "2099")
    await page.fill("#contact_email", "alice@example.org")
    await check_page(page, "staff", visited)
    await page.click(f"button:has-text('{text['continue']}')")


async def step_state(page: Page, step: str) -> str | None:
    """Reload the application page and read one step's state."""
    await page.reload()
    cell = page.locator(f"[data-step={step}] [data-step-state]")
    return await cell.get_attribute("data-step-state") if await cell.count() else None


@pytest.mark.parametrize(
    ("locale", "viewport"),
    [("en", {"width": 1280, "height": 900}), ("zh-Hans", {"width": 375, "height": 812})],
    ids=["en-desktop", "zh-mobile"],
)
async def test_open_a_restaurant(
    site: Site, browser: Browser, payment_sim: SimProcess, locale: str, viewport: dict[str, int]
) -> None:
    text = TEXT[locale]
    context = await browser.new_context(
        viewport=viewport,  # type: ignore[arg-type]
        locale="zh-CN" if locale == "zh-Hans" else "en-GB",
        accept_downloads=True,
    )
    page = await context.new_page()
    visited: list[str] = []
    await page.goto(f"{site.base}/")
    await check_page(page, "home", visited)
    assert await page.get_attribute("html", "lang") == locale
    await page.goto(f"{site.base}/services/open-a-restaurant")
    await check_page(page, "service", visited)
    if locale == "zh-Hans":
        assert "开设餐馆" in await page.inner_text("h1")
        assert "税务局" in await page.inner_text(
            "#departments"
        ) or "Tax" not in await page.inner_text("#departments")

    await sign_in_and_start(page, site, text)
    await page.wait_for_url("**/prefill")
    await check_page(page, "prefill", visited)
    await page.check("#consent")
    await page.click(".govuk-button")
    await fill_form(page, text, visited)

    await page.wait_for_url("**/check")
    await check_page(page, "check", visited)
    assert "400.00" in await page.inner_text("#fee")
    await page.click(f"button:has-text('{text['send']}')")
    await page.wait_for_url("**/confirmation")
    await check_page(page, "confirmation", visited)
    reference = await page.inner_text("#reference")
    assert reference.startswith("RST-")
    await page.click("#follow")

    # Upload the floor plan.
    application_url = page.url
    application_id = application_url.rstrip("/").split("/")[-1]
    await page.set_input_files(
        "#file-floor_plan",
        files=FilePayload(name="plan.pdf", mimeType="application/pdf", buffer=samples.pdf()),
    )
    await page.click("form:has(#file-floor_plan) button")
    await page.wait_for_selector("#document-list")
    await check_page(page, "documents", visited)

    # The four departments work in parallel; the licensing officer's review waits.
    async def review_waiting() -> bool:
        return await step_state(page, "licensing_review") == "awaiting_officer"

    await poll(review_waiting, "the four department checks")
    for step in ("business", "zoning", "tax", "screening", "employer"):
        assert (
            await page.get_attribute(f"[data-step={step}] [data-step-state]", "data-step-state")
            == "completed"
        )
    await check_page(page, "departments", visited)

    async with httpx.AsyncClient(base_url=site.base, headers=OLIVIA) as officer:
        tasks = (await officer.get("/api/v1/tasks")).json()
        task = next(t for t in tasks if t["application_id"] == application_id)
        asked = await officer.post(
            f"/api/v1/tasks/{task['id']}/information-requests",
            json={"message": "Please confirm the opening hours of the kitchen."},
        )
        assert asked.status_code < 300, asked.text
        await page.reload()
        assert "opening hours" in await page.inner_text("#information-request")
        await check_page(page, "question", visited)
        await page.fill("#answer", "11:00 to 23:00 every day.")
        await page.click("#information-request button")
        await page.wait_for_url("**answered=1")
        approved = await officer.post(
            f"/api/v1/tasks/{task['id']}/decision", json={"decision": "approve"}
        )
        assert approved.status_code < 300, approved.text

    async def payment_due() -> bool:
        return await step_state(page, "payment") == "awaiting_external"

    await poll(payment_due, "the payment step")
    assert "400.00" in await page.inner_text("#fee")
    await check_page(page, "fee-due", visited)
    # Pay on the provider's hosted page and come back.
    await page.click("form[action$='/payment'] button")
    await page.wait_for_url(f"{payment_sim.url}/pay/**")
    assert "400.00 EUR" in await page.inner_text("main")
    await page.click("button[value=success]")
    await page.wait_for_url(f"**/applications/{application_id}?paid=1**")
    assert "status=succeeded" in page.url
    await check_page(page, "paid", visited)

    async def payment_done() -> bool:
        return await step_state(page, "payment") == "completed"

    await poll(payment_done, "the provider's webhook completing the payment step")
    assert await page.locator("[data-payment-done]").count() == 1

    async def licence_ready() -> bool:
        await page.reload()
        return await page.locator("#licence").count() == 1

    await poll(licence_ready, "the licence")
    await check_page(page, "licence", visited)
    async with page.expect_download() as download_info:
        await page.click("#licence a[download]")
    download = await download_info.value
    pdf = await download.path()
    assert pdf is not None
    assert pdf.read_bytes().startswith(b"%PDF")
    await page.click("#licence a[href^='/verify/']")
    assert await page.get_attribute("h1", "data-status") == "valid"
    heading = await page.inner_text("h1")
    assert heading == ("此许可证有效" if locale == "zh-Hans" else "This licence is valid")
    await check_page(page, "verified", visited)  # the licence check page, in this locale

    await page.goto(f"{site.base}/applications")
    await check_page(page, "applications", visited)
    assert reference in await page.inner_text("#applications")
    assert len(visited) >= 12
    await context.close()


async def test_the_form_works_without_javascript(site: Site, browser: Browser) -> None:
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await sign_in_and_start(page, site, TEXT["en"])
    await page.wait_for_url("**/prefill")
    await page.check("#consent-2")  # "No, I will type everything myself"
    await page.click(".govuk-button")
    await page.wait_for_url("**/pages/business")
    assert await page.input_value("#business_name") == ""
    await page.click("button:has-text('Save and continue')")
    summary = await page.inner_text(".govuk-error-summary")
    assert "Enter business registration number" in summary
    await page.fill("#business_registration_number", "BR-2019-004211")
    await page.fill("#business_name", "Golden Dragon Kitchen Ltd")
    await page.click("button:has-text('Save and continue')")
    await page.wait_for_url("**/pages/premises")
    await page.fill("#parcel_id", "P-0042-117")
    await page.fill("#premises_address", "12 Harbour Street, Riverton")
    await page.fill("#seating", "40")
    await page.check("#grease_trap")
    await page.select_option("#cuisine", "chinese")
    await page.click("button:has-text('Save and continue')")
    await page.fill("#staff_count", "8")
    await page.fill("#opening_date-day", "1")
    await page.fill("#opening_date-month", "3")
    await page.fill("#opening_date-year", "2099")
    await page.fill("#contact_email", "alice@example.org")
    await page.click("button:has-text('Save and continue')")
    await page.wait_for_url("**/check")
    await page.click("button:has-text('Accept and send')")
    await page.wait_for_url("**/confirmation")
    assert (await page.inner_text("#reference")).startswith("RST-")
    await context.close()
