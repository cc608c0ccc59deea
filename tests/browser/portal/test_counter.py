"""The assisted channel in Chromium (issue 17, ADR 0044): Mei, a counter officer, applies for
Wei Zhang, who has no account, for his Lotus Noodle House; the receipt PDF is downloaded and
read; the departments work and the licensing officer approves; Wei then signs in (in Chinese,
on a phone), takes the application over with the claim code, pays and gets the licence. axe-core
on every page of the journey; a used code is refused."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright
from pydantic import SecretStr
from pypdf import PdfReader
from sqlalchemy import select

from civicloom.applications import StepHandler
from civicloom.applications.tables import ApplicationRow
from civicloom.departments import CapabilityCall, InProcessGateway
from civicloom.documents import build_documents_runtime, licence_step_handler
from civicloom.runtime import Container
from civicloom.settings import Settings
from tests.browser.portal.site import CHROMIUM_ARGS, check_accessibility, poll
from tests.browser.serving import CHROMIUM, Served, serve_with_engine
from tests.simulators.harness import SimProcess, start_sim

pytestmark = pytest.mark.browser

OLIVIA = {"Authorization": "Bearer dev:olivia"}
WEBHOOK_SECRET = "browser-counter-webhook-secret"


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Browser tests run on SQLite: the database paths are covered by the integration tests."""
    return str(request.param)


def departments() -> InProcessGateway:
    """The departments' answers for Lotus Noodle House (the register names Wei, ``wei``)."""

    def answer(output: dict[str, Any]) -> Callable[[CapabilityCall], Awaitable[dict[str, Any]]]:
        async def call(_: CapabilityCall) -> dict[str, Any]:
            await asyncio.sleep(0.1)
            return output

        return call

    return InProcessGateway(
        {
            "local-admin.business_lookup": answer(
                {
                    "name": "Lotus Noodle House",
                    "status": "active",
                    "director_name": "Wei Zhang",
                    "director_person_id": "wei",
                    "registered_address": "3 Willow Street, Riverton",
                }
            ),
            "local-admin.zoning_check": answer({"zone": "commercial", "allowed": True}),
            "tax.clearance_check": answer({"status": "cleared"}),
            "environment.screening": answer({"outcome": "cleared"}),
            "labour.register_employer": answer({"status": "registered", "employer_id": "EMP-8"}),
            "local-admin.register_activity": answer({"status": "registered"}),
        }
    )


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
async def site(settings: Settings, payment_sim: SimProcess) -> AsyncIterator[Served]:
    """The app over HTTP with the case engine (licences included) working in the background."""
    payment_sim.reset()
    wired = settings.model_copy(
        update={
            "payments_provider_url": payment_sim.url,
            "payments_webhook_secret": SecretStr(WEBHOOK_SECRET),
        }
    )

    def handlers(container: Container) -> dict[str, StepHandler]:
        documents = build_documents_runtime(container.settings)
        return {"issue_document": licence_step_handler(container, documents)}

    async with serve_with_engine(wired, departments(), handlers) as served:
        yield served


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium."""
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        await b.close()


async def sign_in(page: Page, base: str, path: str, persona: str) -> None:
    """Open ``path``, sign in with the dev login as ``persona``, land back on ``path``."""
    await page.goto(f"{base}{path}")  # the page sends an anonymous caller to the dev login
    await page.click(f"button[data-persona={persona}]")
    await page.wait_for_url(f"{base}{path}")


async def state_of(site: Served, application_id: str) -> str:
    async with site.container.uow() as uow:
        state = await uow.session.scalar(
            select(ApplicationRow.state).where(ApplicationRow.id == application_id)
        )
    return str(state)


async def test_an_officer_applies_at_the_counter_and_the_citizen_takes_it_over(
    site: Served, browser: Browser, payment_sim: SimProcess
) -> None:
    base = site.base
    visited: list[str] = []
    officer = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-GB", accept_downloads=True
    )
    page = await officer.new_page()
    await sign_in(page, base, "/counter", "mei")
    await check_accessibility(page, visited)
    await page.click("#counter-services a[href='/counter/services/open-a-restaurant']")
    await page.wait_for_url("**/counter/services/open-a-restaurant")
    await check_accessibility(page, visited)

    # The service's answers, but no identity check: refused by the fields, nothing written.
    await page.fill("#business_registration_number", "BR-2024-000888")
    await page.fill("#business_name", "Lotus Noodle House")
    await page.fill("#parcel_id", "P-0042-117")
    await page.fill("#premises_address", "3 Willow Street, Riverton")
    await page.fill("#seating", "30")
    await page.check("#grease_trap")
    await page.select_option("#cuisine", "chinese")
    await page.fill("#staff_count", "4")
    await page.fill("#opening_date-day", "1")
    await page.fill("#opening_date-month", "4")
    await page.fill("#opening_date-year", "2099")
    await page.fill("#contact_email", "wei.family@example.org")
    await page.click("#send")
    await page.wait_for_selector(".govuk-error-summary")
    assert "Enter the number of the document" in await page.inner_text("#id_document_number-error")
    assert "signed the printed declaration" in await page.inner_text("#id_declaration-error")
    await check_accessibility(page, visited)
    async with site.container.uow() as uow:
        assert list(await uow.session.scalars(select(ApplicationRow.id))) == []

    # The identity check and the signed declaration: sent.
    await page.fill("#id_name", "Wei Zhang")
    await page.check("#id_document_type")  # the first document: the national identity card
    await page.fill("#id_document_number", "E 1234 5678")
    await page.fill("#id_personal_number", "wei")
    await page.check("#id_declaration")
    await page.click("#send")
    await page.wait_for_selector("#claim-code")
    await check_accessibility(page, visited)
    reference = await page.inner_text("#reference")
    code = (await page.inner_text("#claim-code")).strip()
    assert reference.startswith("RST-")
    assert len(code) == 19

    async with page.expect_download() as download_info:
        await page.click("#print")
    download = await download_info.value
    path = await download.path()
    assert path is not None
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(path.read_bytes())).pages)
    for expected in (reference, "Open a restaurant", "Wei Zhang", code, f"{base}/claim"):
        assert expected in text, expected
    assert "12345678" not in text
    # The department's counter list, and the form that would reissue a lost code.
    await page.goto(f"{base}/counter")
    await page.click("#counter-list")
    await page.wait_for_url("**/counter/applications")
    await check_accessibility(page, visited)
    assert reference in await page.inner_text("#counter-applications")
    await page.click("#counter-applications a[href$='/code']")
    await page.wait_for_url("**/code")
    await check_accessibility(page, visited)
    await officer.close()

    async with site.container.uow() as uow:
        application_id = await uow.session.scalar(
            select(ApplicationRow.id).where(ApplicationRow.reference == reference)
        )
    assert application_id is not None

    # The departments work; the licensing officer approves, as for any application.
    async with httpx.AsyncClient(base_url=base, headers=OLIVIA) as olivia:

        async def review_waiting() -> bool:
            tasks = (await olivia.get("/api/v1/tasks")).json()
            return any(t["application_id"] == application_id for t in tasks)

        await poll(review_waiting, "the licensing review")
        tasks = (await olivia.get("/api/v1/tasks")).json()
        task = next(t for t in tasks if t["application_id"] == application_id)
        approved = await olivia.post(
            f"/api/v1/tasks/{task['id']}/decision", json={"decision": "approve"}
        )
        assert approved.status_code < 300, approved.text

    # Wei signs in on his phone, in Chinese, and takes it over with the code.
    citizen = await browser.new_context(
        viewport={"width": 375, "height": 812}, locale="zh-CN", accept_downloads=True
    )
    phone = await citizen.new_page()
    await sign_in(phone, base, "/claim", "wei")
    assert await phone.get_attribute("html", "lang") == "zh-Hans"
    await check_accessibility(phone, visited)
    await phone.fill("#code", code.lower())
    await phone.click("#claim")
    await phone.wait_for_url(f"**/applications/{application_id}?taken_over=1")
    await check_accessibility(phone, visited)
    assert reference in await phone.inner_text("main")

    async def payment_due() -> bool:
        await phone.reload()
        return await phone.locator("form[action$='/payment'] button").count() == 1

    await poll(payment_due, "the payment step")
    await check_accessibility(phone, visited)
    await phone.click("form[action$='/payment'] button")
    await phone.wait_for_url(f"{payment_sim.url}/pay/**")
    await phone.click("button[value=success]")
    await phone.wait_for_url(f"**/applications/{application_id}?paid=1**")

    async def licence_ready() -> bool:
        await phone.reload()
        return await phone.locator("#licence").count() == 1

    await poll(licence_ready, "the licence")
    await check_accessibility(phone, visited)
    assert await state_of(site, application_id) == "approved"

    # The code is spent: entering it again is refused, and says nothing more.
    await phone.goto(f"{base}/claim")
    await phone.fill("#code", code)
    await phone.click("#claim")
    await phone.wait_for_selector(".govuk-error-summary")
    assert "此认领码无法使用" in await phone.inner_text("#code-error")
    await check_accessibility(phone, visited)
    assert len(visited) >= 11
    await citizen.close()
