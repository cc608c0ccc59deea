"""Once-only in Chromium: Alice sees which registers would be read, from whom, why and on which
legal basis; names her parcel; consents; finds the form filled in with each answer's source;
then revokes the consent under "Your consents" (English, 1280 px). And journey b of issue 19,
in English at 1280 px and Chinese at 375 px: she says No, the form starts empty and no consent
is listed. Every page is checked by ``check_page`` (axe, no raw ids, screenshot); one site
serves the module.

The departments are the harness's in-process gateway (``tests.browser.portal.site``), not the
simulator processes. That gateway answers the business register but not the land-parcel or
taxpayer registers, so this test adds those two answers to it, taken from the simulators' own
seed data (``simulators/*/seed``): the values are the ones the simulators would give.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from playwright.async_api import Browser

from civicloom.departments import CapabilityCall, InProcessGateway
from civicloom.settings import PROJECT_ROOT, Settings
from tests.browser.portal import site as harness
from tests.browser.portal.site import Site, running_site
from tests.browser.serving import EN_DESKTOP, VARIANTS, Variant, check_page, new_page, signed_in

pytestmark = pytest.mark.browser

PARCEL = "P-0042-117"
SEEDS = PROJECT_ROOT / "simulators"


def _seed_row(path: str, key: str, value: str) -> dict[str, Any]:
    """One row of a simulator's seed file, found by the value of ``key``."""
    document = json.loads((SEEDS / path).read_text())
    rows = next(v for v in document.values() if isinstance(v, list))
    return dict(next(r for r in rows if r.get(key) == value))


PARCEL_ROW = _seed_row("local_admin/seed/parcels.json", "parcel_id", PARCEL)
TAXPAYER_ROW = _seed_row("tax/seed/taxpayers.json", "registration_number", "BR-2019-004211")


def _with_registers(base: Callable[[], InProcessGateway]) -> Callable[[], InProcessGateway]:
    """The harness's departments plus the land-parcel and taxpayer registers."""

    def build() -> InProcessGateway:
        gateway = base()

        async def parcel(call: CapabilityCall) -> dict[str, Any]:
            assert call.input.get("parcel_id") == PARCEL, call.input  # asked by what Alice typed
            return dict(PARCEL_ROW)

        async def taxpayer(_: CapabilityCall) -> dict[str, Any]:
            return dict(TAXPAYER_ROW)

        gateway.functions["local-admin.parcel_lookup"] = parcel
        gateway.functions["tax.taxpayer_lookup"] = taxpayer
        return gateway

    return build


@pytest.fixture(scope="module")
async def site(module_settings: Settings) -> AsyncIterator[Site]:
    """The portal over HTTP, its departments answering the three registers."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(harness, "departments", _with_registers(harness.departments))
        async with running_site(module_settings) as running:
            yield running


async def test_consent_prefill_and_revoke(site: Site, browser: Browser) -> None:
    page = await new_page(browser, EN_DESKTOP)
    visited: list[str] = []
    await page.goto(f"{site.base}/services/open-a-restaurant")
    await page.click("text=Sign in to start")
    await page.click("button[data-persona=alice]")
    await page.wait_for_url(f"{site.base}/services/open-a-restaurant")
    await page.click(".govuk-button--start")

    # The consent page: what will be read, from which register, why, on which legal basis.
    await page.wait_for_url("**/prefill")
    await check_page(page, "prefill", visited)
    assert "Use information the government already holds?" in await page.inner_text("h1")
    business = await page.inner_text("#prefill-sources [data-agreement=DSA-2025-101]")
    assert "Local Administration: Business name, Director" in business  # labels, not field ids
    assert "Why: Fill in the licence application of the business you represent" in business
    assert "DSA-2025-101, Food Business Licensing Act 2019, s. 12" in business
    parcel = await page.inner_text("#prefill-sources [data-agreement=DSA-2025-103]")
    assert "address" in parcel
    assert "Why: Fill in the address of the premises on the parcel you name" in parcel
    assert "Land Registration Act 2002, s. 66" in parcel
    assert await page.locator("[data-prefill-asks=parcel_id] #parcel_id").count() == 1

    # A malformed parcel id is refused on the consent page, naming the field.
    await page.check("#consent")
    await page.fill("#parcel_id", "42")
    await page.click("button:has-text('Continue')")
    await page.wait_for_selector(".govuk-error-summary")
    assert await page.locator(".govuk-error-summary a[href='#parcel_id']").count() == 1
    await check_page(page, "prefill-error", visited)

    await page.check("#consent")
    await page.fill("#parcel_id", PARCEL)
    await page.click("button:has-text('Continue')")

    # The form arrives filled in, each prefilled answer saying where it came from.
    await page.wait_for_url("**/pages/business")
    assert await page.input_value("#business_name") == "Golden Dragon Kitchen Ltd"
    assert await page.input_value("#director_name") == "Alice Chen"
    for field in ("business_name", "director_name"):
        source = await page.inner_text(f"[data-prefill-source={field}]")
        assert "register, with your consent" in source, source
    await page.click("button:has-text('Save and continue')")
    await page.wait_for_url("**/pages/premises")
    assert await page.input_value("#parcel_id") == PARCEL  # kept as Alice typed it
    assert await page.input_value("#premises_address") == PARCEL_ROW["address"]
    assert "register, with your consent" in await page.inner_text(
        "[data-prefill-source=premises_address]"
    )
    assert await page.locator("[data-prefill-source=parcel_id]").count() == 0

    # Your consents: the consent is listed, then revoked.
    await page.goto(f"{site.base}/consents")
    await check_page(page, "consents", visited)
    rows = page.locator("#consents [data-consent]")
    assert await rows.count() == 1
    row = rows.first
    listed = await row.inner_text()
    assert "Fill in the licence application of the business you represent" in listed
    assert "Fill in the address of the premises on the parcel you name" in listed
    assert "Revoked" not in listed
    await row.locator("button:has-text('Revoke')").click()
    await page.wait_for_url("**/consents?revoked=1")
    revoked = await page.inner_text("#consents [data-consent]")
    assert "Revoked" in revoked
    assert await page.locator("#consents button:has-text('Revoke')").count() == 0
    await check_page(page, "revoked", visited)
    assert len(visited) == 4
    await page.context.close()


@pytest.mark.parametrize("variant", VARIANTS)
async def test_saying_no_leaves_the_form_empty_and_no_consent(
    site: Site, browser: Browser, variant: Variant
) -> None:
    visited: list[str] = []
    page = await signed_in(browser, site.base, "alice", variant, "/services/open-a-restaurant")
    await page.click(".govuk-button--start")
    await page.wait_for_url("**/prefill")
    await check_page(page, "prefill", visited)
    await page.check("#consent-2")  # "No, I will type everything myself"
    await page.click("form .govuk-button")
    await page.wait_for_url("**/pages/business")
    assert await page.input_value("#business_name") == ""
    assert await page.input_value("#director_name") == ""
    assert await page.locator("[data-prefill-source]").count() == 0
    await check_page(page, "empty-form", visited)
    await page.goto(f"{site.base}/consents")
    # nothing to revoke: saying No gave no consent (a walk before may have left a revoked one)
    assert await page.locator("#consents form[action$='/revoke']").count() == 0
    await check_page(page, "no-consent", visited)
    assert len(visited) == 3
    await page.context.close()
