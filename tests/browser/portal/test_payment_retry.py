"""In Chromium: a declined card, then "Try again" on the portal pays the fee (issue 16).

The payment simulator is a real process with its hosted page and signed webhooks; the
pay-test service's only step is the local administration's fee.
"""

from __future__ import annotations

from playwright.async_api import Browser

from civicloom.applications import SubmitApplication, submit_application
from civicloom.catalogue import publish_blueprint
from tests.browser.portal.site import Site, check_accessibility, poll
from tests.browser.portal.test_open_a_restaurant import (  # noqa: F401 - fixtures
    browser,
    payment_sim,
    site,
)
from tests.integration.payments.conftest import ALICE, pay_blueprint
from tests.simulators.harness import SimProcess


async def test_declined_then_try_again_pays_the_fee(
    site: Site,  # noqa: F811 - the fixture
    browser: Browser,  # noqa: F811
    payment_sim: SimProcess,  # noqa: F811
) -> None:
    container = site.container
    async with container.uow() as uow:
        await publish_blueprint(
            uow.session, pay_blueprint(), container.clock.now(), actor="test:setup"
        )
        await uow.commit()
    view, _ = await submit_application(
        container.uow(),
        container.clock,
        ALICE,
        SubmitApplication(service_id="pay-test", data={"seating": 40}),
    )
    page = await browser.new_page()
    visited: list[str] = []
    await page.goto(f"{site.base}/auth/dev-login?next=/applications/{view.id}")
    await page.click("button[data-persona=alice]")
    await page.wait_for_url(f"{site.base}/applications/{view.id}")

    await page.click("form[action$='/payment'] button")
    await page.wait_for_url(f"{payment_sim.url}/pay/**")
    first = page.url
    await page.click("button[value=decline]")
    await page.wait_for_url(f"**/applications/{view.id}?paid=1**")

    async def retry_offered() -> bool:
        await page.reload()
        return await page.locator("#payment-retry").count() == 1

    await poll(retry_offered, "the declined webhook and the Try again button")
    assert "You have not been charged" in await page.inner_text("#payment-failed")
    await check_accessibility(page, visited)

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
    await check_accessibility(page, visited)
    await page.close()
