"""Help, contact, privacy and cookies pages, the Beta banner's feedback link, and the payer's
receipt page (issue 19): real app and database, the fake provider of the payment-retry tests.

Who must not read a receipt: another citizen (404, styled page, nothing written), anyone before
the fee is paid (404), and nobody signed out (sent to sign in)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from civicloom.applications import SubmitApplication, submit_application
from civicloom.notifications.templates import TemplateLibrary
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.payments.conftest import ALICE as ALICE_PRINCIPAL
from tests.integration.portal.test_payment_retry import (
    FakeProvider,
    hosted_page,
    portal,
    webhook,
)

__all__ = ["portal"]  # the fixture, shared with the payment-retry tests

ALICE = {**as_persona("alice"), "Accept": "text/html"}
BOB = {**as_persona("bob"), "Accept": "text/html"}
ZH = {"Cookie": "civicloom_lang=zh-Hans", "Accept": "text/html"}
HTML = {"Accept": "text/html"}


@pytest.mark.parametrize(
    ("path", "english", "chinese"),
    [
        ("/help", "Help with applying", "申请帮助"),
        ("/contact", "Contact us", "联系我们"),
        ("/privacy", "Privacy notice", "隐私声明"),
        ("/cookies", "Cookies we set", "我们设置的 Cookie"),
    ],
)
async def test_support_pages_are_public_and_translated(
    portal: tuple[httpx.AsyncClient, FakeProvider], path: str, english: str, chinese: str
) -> None:
    client, _ = portal
    en = await client.get(path, headers=HTML)
    zh = await client.get(path, headers=ZH)
    assert en.status_code == 200
    assert english in en.text
    assert zh.status_code == 200
    assert chinese in zh.text
    assert english not in zh.text


async def test_contact_names_every_department_with_its_desk(
    portal: tuple[httpx.AsyncClient, FakeProvider],
) -> None:
    client, _ = portal
    en = (await client.get("/contact", headers=HTML)).text
    for name, email in [
        ("Local Administration", "licensing@local-admin.example.gov"),
        ("Tax Authority", "registrations@tax.example.gov"),
        ("Environment Department", "inspections@environment.example.gov"),
        ("Labour Office", "employers@labour.example.gov"),
    ]:
        assert name in en
        assert f'href="mailto:{email}"' in en
    zh = (await client.get("/contact", headers=ZH)).text
    assert "税务局" in zh
    assert "周一至周五 上午9点至下午5点（公众假期休息）" in zh


async def test_the_cookie_page_lists_every_cookie_the_service_sets(
    portal: tuple[httpx.AsyncClient, FakeProvider],
) -> None:
    client, _ = portal
    text = (await client.get("/cookies", headers=HTML)).text
    for name in [
        "civicloom_session",
        "civicloom_csrf",
        "civicloom_oidc",
        "civicloom_lang",
        "civicloom_inbox_seen",
    ]:
        assert f"<code>{name}</code>" in text


async def test_every_page_links_help_contact_privacy_cookies_and_feedback(
    portal: tuple[httpx.AsyncClient, FakeProvider],
) -> None:
    client, _ = portal
    text = (await client.get("/services", headers=HTML)).text
    for href in ["/help", "/contact", "/privacy", "/cookies", "/accessibility"]:
        assert f'class="govuk-footer__link" href="{href}"' in text
    link = '<a class="govuk-link" href="/feedback?from=/services">'
    assert f"Your {link}feedback</a> will help" in text
    zh = (await client.get("/services", headers=ZH)).text
    assert f"您的{link}反馈</a>将帮助我们改进" in zh


async def test_the_payer_reads_a_receipt_once_the_fee_is_paid(
    container: Container, portal: tuple[httpx.AsyncClient, FakeProvider]
) -> None:
    client, _ = portal
    view, _ = await submit_application(
        container.uow(),
        container.clock,
        ALICE_PRINCIPAL,
        SubmitApplication(service_id="pay-test", data={"seating": 40}),
    )
    receipt_url = f"/applications/{view.id}/receipt"
    before = await client.get(receipt_url, headers=ALICE)
    assert before.status_code == 404
    assert before.headers["content-type"].startswith("text/html")

    intent = hosted_page(await client.post(f"/applications/{view.id}/payment", headers=ALICE))
    await webhook(client, intent, "succeeded", 1)

    page = await client.get(receipt_url, headers=ALICE)
    assert page.status_code == 200
    assert view.reference in page.text
    assert "Local Administration" in page.text
    assert '<td class="govuk-table__cell govuk-table__cell--numeric">400.00 EUR</td>' in page.text
    assert (
        '<td class="govuk-table__cell govuk-table__cell--numeric" id="receipt-total">400.00 EUR'
        in (page.text)
    )
    status = await client.get(f"/applications/{view.id}", headers=ALICE)
    assert f'id="receipt-link" href="{receipt_url}"' in status.text
    zh = await client.get(receipt_url, headers={**ALICE, "Cookie": "civicloom_lang=zh-Hans"})
    assert "实付总额" in zh.text
    assert "地方行政局" in zh.text

    stranger = await client.get(receipt_url, headers=BOB)
    assert stranger.status_code == 404
    assert stranger.headers["content-type"].startswith("text/html")
    assert "400.00" not in stranger.text

    signed_out = await client.get(receipt_url, headers=HTML, follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/auth/login")


@pytest.mark.parametrize(
    ("locale", "line"),
    [
        ("en", "Your receipt is at https://portal.test/applications/app-1/receipt."),
        ("zh-Hans", "收据见 https://portal.test/applications/app-1/receipt。"),
    ],
)
def test_the_payment_e_mail_links_to_the_receipt_page(locale: str, line: str) -> None:
    library = TemplateLibrary(Path("blueprints/templates"))
    context = {
        "reference": "PAY-1",
        "amount": "400.00",
        "currency": "EUR",
        "status_url": "https://portal.test/applications/app-1",
        "receipt_url": "https://portal.test/applications/app-1/receipt",
    }
    message = library.render("common/payment-received", locale, context)
    assert line in message.text
