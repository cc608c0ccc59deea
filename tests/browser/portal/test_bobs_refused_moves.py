"""Bob's three moves of issue 17, in Chromium: Bob, who has no business, tries to open a
restaurant for Golden Dragon Kitchen Ltd (Alice's company, BR-2019-004211), to move its
registered address, and to apply for a company in tax arrears (Rusty Spoon Diner Ltd). Each is
refused on the check page with the reason beside the business registration number (English and
Chinese), nothing is written, no department is asked anything but the business register, and
nothing of the company reaches Bob's pages. Alice is not told: a refused attempt writes nothing
(the issue's "nothing written"); directors hear of applications that are made (ADR 0041).

The representation reads are answered from the Local Administration simulator's own seed
(``tests/registers.py``), so the register names Alice as Golden Dragon's director."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy import func, select

from civicloom.applications.tables import ApplicationRow
from civicloom.departments import CapabilityCall, CapabilityGateway, CapabilityResult
from civicloom.notifications.tables import DeliveryRow
from civicloom.outbox.tables import OutboxRow
from civicloom.runtime import Container
from civicloom.settings import Settings
from tests.browser.portal.site import CHROMIUM_ARGS, Site, check_accessibility, departments
from tests.browser.serving import CHROMIUM, serve_with_engine
from tests.registers import SeedRegister

pytestmark = pytest.mark.browser

NOT_YOURS = {
    "en": (
        "You cannot apply for this business: the business register does not name you as its "
        "director, and no director has given you a mandate for this service"
    ),
    "zh-Hans": "您不能代表该企业申请：企业登记簿未登记您为其董事，也没有董事授权您办理此项服务",
}
SEND = {"en": "Accept and send", "zh-Hans": "同意并提交"}


class Recording:
    """Passes calls on and keeps the capabilities asked, to show no department was called."""

    def __init__(self, inner: CapabilityGateway) -> None:
        self.inner = inner
        self.asked: list[str] = []

    async def call(self, call: CapabilityCall) -> CapabilityResult:
        """Record, then answer as the wrapped gateway does."""
        self.asked.append(call.capability)
        return await self.inner.call(call)


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Browser tests run on SQLite: the database paths are covered by the integration tests."""
    return str(request.param)


@pytest.fixture
async def gateway() -> Recording:
    """The register's seed for representation; the in-process departments for the rest."""
    return Recording(SeedRegister(departments()))


@pytest.fixture
async def site(settings: Settings, gateway: Recording) -> AsyncIterator[Site]:
    """The portal over HTTP with the case engine running."""
    async with serve_with_engine(settings, gateway) as served:
        yield Site(base=served.base, container=served.container)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium."""
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        await b.close()


async def written(container: Container) -> tuple[int, int, int]:
    """Applications, outbox events and messages (Alice's inbox included)."""
    async with container.uow() as uow:
        counts = [
            await uow.session.scalar(select(func.count()).select_from(table))
            for table in (ApplicationRow, OutboxRow, DeliveryRow)
        ]
    apps, events, messages = (int(c or 0) for c in counts)
    return apps, events, messages


async def start_as_bob(page: Page, site: Site, service: str) -> str:
    """Sign in as Bob through the dev login, start the service; returns the draft's address."""
    await page.goto(f"{site.base}/auth/dev-login?next=/services/{service}")
    await page.click("button[data-persona=bob]")
    await page.wait_for_url(f"{site.base}/services/{service}")
    await page.click(".govuk-button--start")
    await page.wait_for_url("**/drafts/**")
    return page.url.split("/drafts/")[1].split("/")[0]


async def answer(page: Page, site: Site, draft: str, page_id: str, fields: dict[str, str]) -> None:
    """Fill one form page as a person would and save it."""
    await page.goto(f"{site.base}/drafts/{draft}/pages/{page_id}")
    for name, value in fields.items():
        kind = await page.get_attribute(f"[name='{name}']", "type")
        tag = await page.eval_on_selector(f"[name='{name}']", "e => e.tagName")
        if tag == "SELECT":
            await page.select_option(f"[name='{name}']", value)
        elif kind in ("radio", "checkbox"):
            await page.check(f"[name='{name}'][value='{value}']")
        else:
            await page.fill(f"[name='{name}']", value)
    await page.click("form button.govuk-button")
    await page.wait_for_load_state()


async def send_and_expect_refusal(
    page: Page, site: Site, draft: str, locale: str, visited: list[str]
) -> None:
    """Send from the check page: refused beside the registration number, nothing else shown."""
    await page.goto(f"{site.base}/drafts/{draft}/check")
    await page.click(f"button:has-text('{SEND[locale]}')")
    await page.wait_for_selector(".govuk-error-summary")
    summary = await page.inner_text(".govuk-error-summary")
    assert NOT_YOURS[locale] in summary
    link = await page.locator(".govuk-error-summary a").get_attribute("href")
    assert link in (
        f"/drafts/{draft}/pages/business?return=check",
        f"/drafts/{draft}/pages/move?return=check",
    )
    beside = page.locator(".govuk-summary-list__row:has(.govuk-error-message)")
    assert await beside.count() == 1
    assert NOT_YOURS[locale] in await beside.inner_text()
    body = await page.inner_text("body")
    assert "arrears" not in body.casefold()
    assert "欠税" not in body
    assert "Victor Petrov" not in body  # the register's director is never shown
    assert "/confirmation" not in page.url
    await check_accessibility(page, visited)


RESTAURANT_PAGES = {
    "premises": {
        "parcel_id": "P-0042-117",
        "premises_address": "12 Harbour Street, Riverton",
        "seating": "40",
        "grease_trap": "yes",
        "cuisine": "chinese",
    },
    "staff": {
        "staff_count": "8",
        "opening_date-day": "1",
        "opening_date-month": "3",
        "opening_date-year": "2099",
        "contact_email": "bob.martins@example.org",
    },
}


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
async def test_bobs_three_moves_are_refused_in_the_browser(
    site: Site, browser: Browser, gateway: Recording, locale: str
) -> None:
    context = await browser.new_context(locale="zh-CN" if locale == "zh-Hans" else "en-GB")
    page = await context.new_page()
    visited: list[str] = []
    before = await written(site.container)

    # (a) open a restaurant for Golden Dragon Kitchen Ltd
    draft = await start_as_bob(page, site, "open-a-restaurant")
    await answer(
        page,
        site,
        draft,
        "business",
        {
            "business_registration_number": "BR-2019-004211",
            "business_name": "Golden Dragon Kitchen Ltd",
            "director_name": "Bob Martins",
        },
    )
    for page_id, fields in RESTAURANT_PAGES.items():
        await answer(page, site, draft, page_id, fields)
    await send_and_expect_refusal(page, site, draft, locale, visited)

    # (b) move Golden Dragon's registered address
    draft = await start_as_bob(page, site, "change-of-business-address")
    await answer(
        page,
        site,
        draft,
        "move",
        {
            "business_registration_number": "BR-2019-004211",
            "new_parcel_id": "P-0042-117",
            "new_address": "1 Stolen Street, Riverton",
            "effective_date-day": "15",
            "effective_date-month": "1",
            "effective_date-year": "2027",
        },
    )
    await send_and_expect_refusal(page, site, draft, locale, visited)

    # (c) apply for a company in tax arrears to learn of them
    draft = await start_as_bob(page, site, "open-a-restaurant")
    await answer(
        page,
        site,
        draft,
        "business",
        {
            "business_registration_number": "BR-2021-000666",
            "business_name": "Rusty Spoon Diner Ltd",
        },
    )
    for page_id, fields in RESTAURANT_PAGES.items():
        await answer(page, site, draft, page_id, fields)
    await send_and_expect_refusal(page, site, draft, locale, visited)
    await page.goto(f"{site.base}/applications")
    listing = await page.inner_text("main")
    assert "RST-" not in listing  # Bob has no application
    assert "ADR-" not in listing
    await check_accessibility(page, visited)

    assert await written(site.container) == before  # no application, event or message
    assert set(gateway.asked) == {"local-admin.business_lookup"}  # only the register was asked
    await context.close()
