"""In Chromium (issue 19): the application page in a citizen's words in English at 1280 px and
in Chinese at 375 px, the fee e-mail's link signed out and signed in, a styled error page, and
messages that become read when opened — every page axe-clean, screenshots kept as artefacts."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page

from civicloom.applications import (
    OfficerDecision,
    SubmitApplication,
    decide_task,
    submit_application,
)
from civicloom.applications.tables import TaskRow
from civicloom.demo import RESTAURANT_ANSWERS
from civicloom.kernel import Principal
from tests.browser import serving
from tests.browser.portal.site import Site, check_accessibility, poll
from tests.browser.portal.test_open_a_restaurant import (  # noqa: F401 - fixtures
    backend,
    payment_sim,
    site,
)
from tests.integration.portal.test_inbox import deliver_to
from tests.registers import verified

pytestmark = pytest.mark.browser
ARTEFACTS = serving.ARTEFACTS / "status"  # the shared artefact folder (tests/browser/serving.py)

ALICE = Principal(
    subject="alice",
    display_name="Alice Chen",
    roles=frozenset({"citizen"}),
    authenticated_by="dev-login",
)
OLIVIA = Principal(
    subject="olivia",
    display_name="Olivia Grant",
    roles=frozenset({"officer", "licensing-officer"}),
    department="local-admin",
    authenticated_by="dev-login",
)
APPLICATION = {**RESTAURANT_ANSWERS, "premises_address": "12 Harbour Street, Riverton"}


async def fee_due(site: Site) -> str:  # noqa: F811 - not the fixture: the running site
    """Alice's application, checked by the departments and approved: the fee is due."""
    container = site.container
    # Alice is Golden Dragon's director: the register's verdict goes with her application.
    acting = await verified(container, ALICE, str(APPLICATION["business_registration_number"]))
    view, _ = await submit_application(
        container.uow(),
        container.clock,
        ALICE,
        SubmitApplication(
            service_id="open-a-restaurant", data=dict(APPLICATION), acting_for=acting
        ),
    )

    async def review_waiting() -> bool:
        async with container.uow() as uow:
            task = await uow.session.scalar(
                TaskRow.__table__.select()
                .with_only_columns(TaskRow.__table__.c.state)
                .where(
                    TaskRow.__table__.c.application_id == view.id,
                    TaskRow.__table__.c.step_id == "licensing_review",
                )
            )
        return task == "awaiting_officer"

    await poll(review_waiting, "the four department checks")
    async with container.uow() as uow:
        task_id = await uow.session.scalar(
            TaskRow.__table__.select()
            .with_only_columns(TaskRow.__table__.c.id)
            .where(
                TaskRow.__table__.c.application_id == view.id,
                TaskRow.__table__.c.step_id == "licensing_review",
            )
        )
    await decide_task(
        container.uow(), container.clock, OLIVIA, str(task_id), OfficerDecision.APPROVE, None
    )
    return view.id


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize(
    ("locale", "viewport"),
    [("en", {"width": 1280, "height": 900}), ("zh-Hans", {"width": 375, "height": 812})],
    ids=["en-desktop", "zh-mobile"],
)
async def test_status_page_and_the_fee_link(
    site: Site,  # noqa: F811 - the fixture
    browser: Browser,
    locale: str,
    viewport: dict[str, int],
) -> None:
    app_id = await fee_due(site)
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = await context.new_page()
    visited: list[str] = []
    await page.goto(f"{site.base}/language/{locale}?next=/")

    # The fee e-mail's link, signed out: sign in, then the fee.
    await page.goto(f"{site.base}/applications/{app_id}/pay")
    await page.click("button[data-persona=alice]")
    await page.wait_for_url(f"{site.base}/applications/{app_id}#fee")
    await check_accessibility(page, visited)
    await shot(page, f"application-{locale}")

    status = await page.inner_text("#state")
    steps = await page.locator("#steps [data-step]").evaluate_all(
        "rows => rows.map(r => r.dataset.step)"
    )
    assert steps.index("licensing_review") < steps.index("payment") < steps.index("licence")
    fee_row = await page.inner_text("[data-step=payment]")
    timeline = await page.inner_text("#timeline")
    if locale == "en":
        assert "Payment due" in status
        assert "In progress" not in status
        assert "Waiting for your payment" in fee_row
        assert "Tax Authority completed: Tax clearance" in timeline
        assert "You sent your application" in timeline
    else:
        assert "待付款" in status
        assert "等待您付款" in fee_row
        assert "税务局已完成：税务清缴证明" in timeline
        assert "您已提交申请" in timeline
    assert not re.search(r"[a-z]+(-[a-z]+)?: [a-z_]+ done", timeline)
    await page.click("[data-step=payment] a[href='#fee']")
    assert await page.locator("form[action$='/payment'] button").is_visible()

    # Someone else's link, or one that does not exist: a styled page, not JSON.
    answer = await page.goto(f"{site.base}/applications/not-an-application/pay")
    assert answer is not None
    assert answer.status == 404
    heading = await page.inner_text("h1")
    assert heading == ("Page not found" if locale == "en" else "未找到页面")
    await check_accessibility(page, visited)
    await shot(page, f"not-found-{locale}")
    await context.close()


async def test_messages_become_read_when_opened(
    site: Site,  # noqa: F811 - the fixture
    browser: Browser,
) -> None:
    container = site.container
    await deliver_to(container, "alice", "Your application was received", 30, "delivered")
    await deliver_to(container, "alice", "The fee is due", 20, "delivered")
    page = await browser.new_page()
    visited: list[str] = []
    await page.goto(f"{site.base}/auth/dev-login?next=/inbox")
    await page.click("button[data-persona=alice]")
    await page.wait_for_url(f"{site.base}/inbox")
    assert await page.locator("[data-state=unread]").count() == 2
    assert "You have 2 new messages." in await page.inner_text("#unread-count")
    await check_accessibility(page, visited)

    await page.reload()  # opened: they are read now
    assert await page.locator("[data-state=unread]").count() == 0
    assert "You have no new messages." in await page.inner_text("#unread-count")

    await deliver_to(container, "alice", "Your licence is ready", 1, "delivered")
    await page.reload()
    assert await page.locator("[data-state=unread]").count() == 1  # only the newer one
    assert "You have 1 new message." in await page.inner_text("#unread-count")
    await page.close()
