"""Links that work and error pages for browsers (issue 19).

The fee e-mail's link (``/applications/{id}/pay``) was a raw JSON 404; it now lands on the
application's fee section for its owner, sends a signed-out browser to sign in and back, and
tells anyone else the page is not found. Every 403/404 a browser meets on a page is a styled,
translated page; API clients still get problem+json.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select

from civicloom.applications import SubmitApplication, submit_application
from civicloom.applications.views import ApplicationRecord
from civicloom.audit.tables import AuditEntryRow
from civicloom.catalogue import publish_blueprint
from civicloom.notifications.services import template_context
from civicloom.payments.tables import PaymentRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.payments.conftest import ALICE as ALICE_PRINCIPAL
from tests.integration.payments.conftest import pay_blueprint

HTML = {"Accept": "text/html,application/xhtml+xml"}
ALICE = {**as_persona("alice"), **HTML}
BOB = {**as_persona("bob"), **HTML}


async def fee_due(container: Container) -> str:
    """Alice's pay-test application, its fee waiting to be paid; returns its id."""
    async with container.uow() as uow:
        await publish_blueprint(
            uow.session, pay_blueprint(), container.clock.now(), actor="test:setup"
        )
        await uow.commit()
    view, _ = await submit_application(
        container.uow(),
        container.clock,
        ALICE_PRINCIPAL,
        SubmitApplication(service_id="pay-test", data={"seating": 40}),
    )
    return view.id


def emailed_payment_link(container: Container, app_id: str, key: str = "payment_url") -> str:
    """The path of the link the fee e-mail carries (as the notification templates get it)."""
    now = datetime(2026, 12, 1, tzinfo=UTC)
    record = ApplicationRecord(
        id=app_id,
        reference="PAY-1",
        service_id="pay-test",
        applicant_id="alice",
        state="in_progress",
        blueprint_version_id="v",
        blueprint_version=1,
        data={},
        decisions={},
        submitted_at=now,
        updated_at=now,
        deadline_at=None,
        decided_at=None,
    )
    return str(urlsplit(str(template_context(container, record, {}, None)[key])).path)


async def counts(container: Container) -> tuple[int, int]:
    async with container.uow() as uow:
        payments = await uow.session.scalar(select(func.count()).select_from(PaymentRow))
        audit = await uow.session.scalar(select(func.count()).select_from(AuditEntryRow))
    return int(payments or 0), int(audit or 0)


async def test_the_fee_emails_link_lands_on_the_fee_for_its_owner(
    container: Container, client: httpx.AsyncClient
) -> None:
    app_id = await fee_due(container)
    link = emailed_payment_link(container, app_id)
    assert link == f"/applications/{app_id}/pay"
    answer = await client.get(link, headers=ALICE)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/applications/{app_id}#fee"
    landed = await client.get(f"/applications/{app_id}", headers=ALICE)
    assert landed.status_code == 200
    assert 'id="fee"' in landed.text
    assert "Pay €400.00" in landed.text


async def test_the_payment_e_mails_receipt_link_is_the_receipt_page(container: Container) -> None:
    assert emailed_payment_link(container, "app-1", "receipt_url") == "/applications/app-1/receipt"


async def test_the_fee_link_signed_out_goes_to_sign_in_and_back(
    container: Container, client: httpx.AsyncClient
) -> None:
    app_id = await fee_due(container)
    answer = await client.get(f"/applications/{app_id}/pay", headers=HTML)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/auth/login?next=%2Fapplications%2F{app_id}%2Fpay"


async def test_someone_elses_fee_link_is_a_not_found_page_and_changes_nothing(
    container: Container, client: httpx.AsyncClient
) -> None:
    app_id = await fee_due(container)
    before = await counts(container)
    answer = await client.get(f"/applications/{app_id}/pay", headers=BOB)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "Page not found" in answer.text
    assert "/problems/" not in answer.text
    assert await counts(container) == before


async def test_browser_404s_are_styled_translated_pages(client: httpx.AsyncClient) -> None:
    # The public licence check answers an unknown number with its own page (not problem+json).
    verify = await client.get("/verify/no-such-licence", headers=HTML)
    assert verify.status_code == 404
    assert verify.headers["content-type"].startswith("text/html")
    for path, headers in (
        ("/applications/no-such-application", ALICE),
        ("/no-such-page", HTML),
    ):
        answer = await client.get(path, headers=headers)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("text/html"), path
        assert "govuk-template" in answer.text, path
        assert "Page not found" in answer.text, path
        assert '"type": "/problems/' not in answer.text, path
        assert '"status":' not in answer.text, path

    zh = await client.get(
        "/applications/no-such-application", headers={**ALICE, "Cookie": "civicloom_lang=zh-Hans"}
    )
    assert zh.status_code == 404
    assert "Page not found" not in zh.text
    assert "找不到" in zh.text or "未找到" in zh.text


async def test_browser_403_on_the_back_office_is_a_styled_page(client: httpx.AsyncClient) -> None:
    answer = await client.get("/backoffice/tasks", headers=ALICE)
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    assert "You cannot see this page" in answer.text
    zh = await client.get(
        "/backoffice/tasks", headers={**ALICE, "Cookie": "civicloom_lang=zh-Hans"}
    )
    assert zh.status_code == 403
    assert "您无权查看此页面" in zh.text


async def test_api_clients_still_get_problem_json(client: httpx.AsyncClient) -> None:
    for headers in (as_persona("alice"), {**as_persona("alice"), **HTML}):
        answer = await client.get("/api/v1/applications/no-such-application", headers=headers)
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == "/problems/not-found"
    plain = await client.get("/verify/no-such-licence", headers={"Accept": "application/json"})
    assert plain.status_code == 404


async def test_a_licence_link_signed_out_goes_to_sign_in(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/v1/licences/some-licence.pdf", headers=HTML)
    assert answer.status_code == 303
    assert (
        answer.headers["location"] == "/auth/login?next=%2Fapi%2Fv1%2Flicences%2Fsome-licence.pdf"
    )
    api = await client.get("/api/v1/licences/some-licence.pdf")
    assert api.status_code == 401
