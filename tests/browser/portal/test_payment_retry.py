"""In Chromium: a declined card, then "Try again" on the portal pays the fee (issue 16, and
journey a of issue 19): in English at 1280 px and in Chinese at 375 px, the application page
checked by ``check_page`` (axe, no raw ids, screenshot) after the decline and after the payment.

The payment simulator is a real process with its hosted page and signed webhooks; the
pay-test service's only step is the local administration's fee. One site serves both walks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser
from pydantic import SecretStr

from civicloom.applications import SubmitApplication, submit_application
from civicloom.catalogue import publish_blueprint
from civicloom.settings import Settings
from tests.browser.portal.site import Site, poll, running_site
from tests.browser.portal.test_open_a_restaurant import (  # noqa: F401 - the fixture
    WEBHOOK_SECRET,
    payment_sim,
)
from tests.browser.serving import VARIANTS, Variant, check_page, signed_in
from tests.integration.payments.conftest import ALICE, pay_blueprint
from tests.simulators.harness import SimProcess

pytestmark = pytest.mark.browser
NOT_CHARGED = {"en": "You have not been charged", "zh-Hans": "我们没有向您收取任何费用"}


@pytest.fixture(scope="module")
async def site(
    module_settings: Settings,
    payment_sim: SimProcess,  # noqa: F811 - the fixture
) -> AsyncIterator[Site]:
    """The portal wired to the payment simulator, the pay-test service published."""
    payment_sim.reset()
    wired = module_settings.model_copy(
        update={
            "payments_provider_url": payment_sim.url,
            "payments_webhook_secret": SecretStr(WEBHOOK_SECRET),
        }
    )
    async with running_site(wired) as running:
        container = running.container
        async with container.uow() as uow:
            await publish_blueprint(
                uow.session, pay_blueprint(), container.clock.now(), actor="test:setup"
            )
            await uow.commit()
        yield running


@pytest.mark.parametrize("variant", VARIANTS)
async def test_declined_then_try_again_pays_the_fee(
    site: Site,
    browser: Browser,
    payment_sim: SimProcess,  # noqa: F811
    variant: Variant,
) -> None:
    container = site.container
    view, _ = await submit_application(
        container.uow(),
        container.clock,
        ALICE,
        SubmitApplication(service_id="pay-test", data={"seating": 40}),
    )
    visited: list[str] = []
    page = await signed_in(browser, site.base, "alice", variant, f"/applications/{view.id}")

    await page.click("form[action$='/payment'] button")
    await page.wait_for_url(f"{payment_sim.url}/pay/**")
    first = page.url
    await page.click("button[value=decline]")
    await page.wait_for_url(f"**/applications/{view.id}?paid=1**")

    async def retry_offered() -> bool:
        await page.reload()
        return await page.locator("#payment-retry").count() == 1

    await poll(retry_offered, "the declined webhook and the Try again button")
    assert NOT_CHARGED[variant.lang] in await page.inner_text("#payment-failed")
    await check_page(page, "declined", visited)

    await page.click("#payment-retry")
    await page.wait_for_url(f"{payment_sim.url}/pay/**")
    assert page.url != first  # a new attempt at the provider
    await page.click("button[value=success]")
    await page.wait_for_url(f"**/applications/{view.id}?paid=1**")

    async def paid() -> bool:
        await page.reload()
        return await page.locator("[data-payment-done]").count() == 1

    await poll(paid, "the success webhook completing the payment step")
    assert await page.locator("#payment-retry").count() == 0
    await check_page(page, "paid", visited)
    assert len(visited) == 2
    await page.context.close()
