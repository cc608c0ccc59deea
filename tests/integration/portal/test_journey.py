"""The citizen portal over the real app and database (SQLite and PostgreSQL), without a browser."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import func, select

from civicloom.applications.tables import ApplicationRow
from civicloom.audit.tables import AuditEntryRow
from civicloom.departments import CAPABILITY_GATEWAY, CapabilityCall, InProcessGateway
from civicloom.portal.tables import DraftRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.test_applications_api import restaurant
from tests.unit.documents import samples
from tests.wiring import swap

ALICE = {**as_persona("alice"), "Accept": "text/html"}
BOB = {**as_persona("bob"), "Accept": "text/html"}

BUSINESS = {
    "business_registration_number": "BR-2019-004211",
    "business_name": "Golden Dragon Kitchen Ltd",
    "director_name": "Alice Chen",
}
PREMISES = {
    "parcel_id": "P-0042-117",
    "premises_address": "12 Harbour Street, Riverton",
    "seating": "40",
    "grease_trap": "yes",
    "cuisine": "chinese",
}
STAFF = {
    "staff_count": "8",
    "opening_date-day": "1",
    "opening_date-month": "3",
    "opening_date-year": "2099",
    "contact_email": "alice@example.org",
}


def location(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text[:2000]
    return response.headers["location"]


async def start(client: httpx.AsyncClient, who: dict[str, str] = ALICE) -> str:
    """Alice starts an application; returns the draft id."""
    target = location(await client.post("/services/open-a-restaurant/apply", headers=who))
    found = re.match(r"^/drafts/([^/]+)/", target)
    assert found, target
    return found[1]


async def fill(client: httpx.AsyncClient, draft: str, who: dict[str, str] = ALICE) -> None:
    """Answer the three pages."""
    for page_id, answers in (("business", BUSINESS), ("premises", PREMISES), ("staff", STAFF)):
        await_ = await client.post(f"/drafts/{draft}/pages/{page_id}", data=answers, headers=who)
        assert location(await_).startswith("/drafts/")


async def submit(client: httpx.AsyncClient, draft: str, who: dict[str, str] = ALICE) -> str:
    """Send the draft from the check page; returns the application id."""
    check = await client.get(f"/drafts/{draft}/check", headers=who)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', check.text)
    assert key, check.text
    target = location(
        await client.post(f"/drafts/{draft}/submit", data={"idempotency_key": key[1]}, headers=who)
    )
    return target.split("/")[2]


async def test_catalogue_search_and_service_page(client: httpx.AsyncClient) -> None:
    home = await client.get("/")
    assert home.status_code == 200
    assert "Open a restaurant" in home.text
    assert "Change of business address" in home.text
    found = await client.get("/services", params={"q": "restaurant"})
    assert "Open a restaurant" in found.text
    assert "Change of business address" not in found.text
    none = await client.get("/services", params={"q": "zzzz"})
    assert "No service matches" in none.text

    page = await client.get("/services/open-a-restaurant")
    assert page.status_code == 200
    for text in ("Tax Authority", "Environment Department", "Labour Office", "20 working days"):
        assert text in page.text
    assert "Floor plan of the premises" in page.text
    zh = await client.get("/services/open-a-restaurant", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="zh-Hans"' in zh.text
    assert "开设餐馆" in zh.text
    assert "税务局" in zh.text or "Tax" not in zh.text
    assert (await client.get("/services/no-such-service")).status_code == 404


async def test_signed_out_browsers_are_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    browser = await client.get("/applications", headers={"Accept": "text/html"})
    assert location(browser) == "/auth/login?next=%2Fapplications"
    api = await client.get("/applications")
    assert api.status_code == 401


async def test_apply_check_submit_once_and_follow(
    client: httpx.AsyncClient, container: Container, alice: dict[str, str]
) -> None:
    draft = await start(client, alice)
    first = await client.get(f"/drafts/{draft}/pages/business", headers=alice)
    assert first.status_code == 200
    assert 'id="business_registration_number"' in first.text

    wrong = await client.post(
        f"/drafts/{draft}/pages/business",
        data={**BUSINESS, "business_registration_number": "12345"},
        headers=alice,
    )
    assert wrong.status_code == 400
    assert "There is a problem" in wrong.text
    assert 'href="#business_registration_number"' in wrong.text
    assert "Business registration number is not in the right format" in wrong.text
    bad_date = await client.post(
        f"/drafts/{draft}/pages/staff",
        data={**STAFF, "opening_date-day": "31", "opening_date-month": "2"},
        headers=alice,
    )
    assert bad_date.status_code == 400
    assert 'href="#opening_date-day"' in bad_date.text

    await fill(client, draft, alice)
    check = await client.get(f"/drafts/{draft}/check", headers=alice)
    assert "Check your answers" in check.text
    assert "1 March 2099" in check.text
    assert "€400.00" in check.text  # the local administration's fee table for 40 seats
    key = re.search(r'name="idempotency_key" value="([^"]+)"', check.text)
    assert key
    application_id = await submit(client, draft, alice)
    again = await client.post(
        f"/drafts/{draft}/submit", data={"idempotency_key": key[1]}, headers=alice
    )
    assert location(again) == f"/applications/{application_id}/confirmation"
    async with container.uow() as uow:
        count = await uow.session.scalar(select(func.count()).select_from(ApplicationRow))
        draft_row = await uow.session.get(DraftRow, draft)
    assert count == 1
    assert draft_row is not None
    assert draft_row.application_id == application_id

    confirmation = await client.get(f"/applications/{application_id}/confirmation", headers=alice)
    assert re.search(r'id="reference">RST-', confirmation.text)
    status = await client.get(f"/applications/{application_id}", headers=alice)
    assert status.status_code == 200
    for step in ("business", "zoning", "tax", "screening", "employer", "licensing_review"):
        assert f'data-step="{step}"' in status.text
    assert "Licence fee: €400.00" in status.text
    listing = await client.get("/applications", headers=alice)
    assert f"/applications/{application_id}" in listing.text
    assert (await client.get(f"/applications/{application_id}", headers=BOB)).status_code == 404
    assert (
        f"/applications/{application_id}"
        not in (await client.get("/applications", headers=BOB)).text
    )


async def test_upload_with_clear_errors_then_withdraw(client: httpx.AsyncClient) -> None:
    draft = await start(client)
    await fill(client, draft)
    application_id = await submit(client, draft)
    url = f"/applications/{application_id}/documents"
    refused = await client.post(
        url,
        data={"document_type": "lease"},
        files={"file": ("lease.png", samples.png(), "image/png")},
        headers=ALICE,
    )
    assert refused.status_code == 400
    assert "There is a problem" in refused.text
    assert 'href="#file-lease"' in refused.text
    empty = await client.post(url, data={"document_type": "lease"}, headers=ALICE)
    assert "Select a file to upload" in empty.text
    uploaded = await client.post(
        url,
        data={"document_type": "floor_plan"},
        files={"file": ("plan.pdf", samples.pdf(), "application/pdf")},
        headers=ALICE,
    )
    assert location(uploaded).startswith(f"/applications/{application_id}?uploaded=floor_plan")
    page = await client.get(f"/applications/{application_id}", headers=ALICE)
    assert "plan.pdf" in page.text

    confirm = await client.get(f"/applications/{application_id}/withdraw", headers=ALICE)
    assert "Are you sure" in confirm.text
    done = await client.post(
        f"/applications/{application_id}/withdraw", data={"confirm": "yes"}, headers=ALICE
    )
    assert location(done) == f"/applications/{application_id}"
    after = await client.get(f"/applications/{application_id}", headers=ALICE)
    assert 'data-state="withdrawn"' in after.text
    assert "Withdraw this application" not in after.text


async def test_a_refused_file_is_explained_in_words_in_both_languages(
    client: httpx.AsyncClient,
) -> None:
    draft = await start(client)
    await fill(client, draft)
    url = f"/applications/{await submit(client, draft)}/documents"
    too_large = b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024)
    cases = [
        (
            "floor_plan",
            ("plan.pdf", too_large),
            "The selected file must be smaller than 10 MB",
            "所选文件必须小于 10 MB",
        ),
        (
            "lease",
            ("lease.png", samples.png()),
            "The selected file must be one of the kinds of file listed for this document",
            "所选文件必须是此文件所列的文件类型之一",
        ),
        ("lease", ("lease.pdf", b""), "The selected file is empty", "所选文件为空"),
    ]
    for document_type, file, english, chinese in cases:
        for headers, words in (
            (ALICE, english),
            ({**ALICE, "Cookie": "civicloom_lang=zh-Hans"}, chinese),
        ):
            refused = await client.post(
                url, data={"document_type": document_type}, files={"file": file}, headers=headers
            )
            assert refused.status_code == 400
            assert f'<a href="#file-{document_type}">{words}</a>' in refused.text
            assert "bytes allowed" not in refused.text
            assert "is not accepted here" not in refused.text


async def test_an_address_without_a_domain_and_a_past_opening_date_are_refused(
    client: httpx.AsyncClient,
) -> None:
    draft = await start(client)
    await client.post(f"/drafts/{draft}/pages/business", data=BUSINESS, headers=ALICE)
    await client.post(f"/drafts/{draft}/pages/premises", data=PREMISES, headers=ALICE)
    wrong = {**STAFF, "opening_date-year": "2020", "contact_email": "alice@"}
    page = await client.post(f"/drafts/{draft}/pages/staff", data=wrong, headers=ALICE)
    assert page.status_code == 400
    assert "Enter an email address in the correct format, like name@example.org" in page.text
    assert "Planned opening date must be today or in the future" in page.text
    assert 'value="alice@"' in page.text  # what was typed stays to be corrected
    zh = await client.post(
        f"/drafts/{draft}/pages/staff",
        data=wrong,
        headers={**ALICE, "Cookie": "civicloom_lang=zh-Hans"},
    )
    assert "请按正确格式输入电子邮件地址，例如 name@example.org" in zh.text
    assert "计划开业日期必须是今天或以后的日期" in zh.text
    api = await client.post(
        "/api/v1/applications",
        json=restaurant(contact_email="alice@", opening_date="2020-03-01"),
        headers={"Authorization": ALICE["Authorization"], "Idempotency-Key": "past-opening-0001"},
    )
    assert api.status_code == 422
    assert {(e["field"], e["rule"]) for e in api.json()["errors"]} == {
        ("data.contact_email", "format"),
        ("data.opening_date", "x-not-before"),
    }
    ok = await client.post(f"/drafts/{draft}/pages/staff", data=STAFF, headers=ALICE)
    assert location(ok) == f"/drafts/{draft}/check"


async def test_save_and_come_back_later(client: httpx.AsyncClient) -> None:
    draft = await start(client)
    saved = await client.post(
        f"/drafts/{draft}/pages/business",
        data={**BUSINESS, "business_registration_number": "nope", "action": "save"},
        headers=ALICE,
    )
    assert location(saved) == f"/applications?saved={draft}"
    listing = await client.get(location(saved), headers=ALICE)
    assert f"/drafts/{draft}/check" in listing.text
    resumed = await client.get(f"/drafts/{draft}/pages/business", headers=ALICE)
    assert 'value="Golden Dragon Kitchen Ltd"' in resumed.text
    assert 'value="nope"' not in resumed.text  # the invalid answer was not kept
    assert (await client.get(f"/drafts/{draft}/pages/business", headers=BOB)).status_code == 404


async def test_once_only_prefill_after_consent(
    client: httpx.AsyncClient, container: Container, alice: dict[str, str]
) -> None:
    calls: list[dict[str, Any]] = []

    async def lookup(call: CapabilityCall) -> dict[str, Any]:
        calls.append(call.input)
        return {
            "name": "Golden Dragon Kitchen Ltd",
            "status": "active",
            "director_name": "Alice Chen",
            "registered_address": "12 Harbour Street",
        }

    app = client._transport.app  # type: ignore[attr-defined]
    swap(app, CAPABILITY_GATEWAY, InProcessGateway({"local-admin.business_lookup": lookup}))
    target = location(await client.post("/services/open-a-restaurant/apply", headers=alice))
    assert target.endswith("/prefill")
    ask = await client.get(target, headers=alice)
    assert "Local Administration" in ask.text
    missing = await client.post(target, data={}, headers=alice)
    assert missing.status_code == 400
    assert calls == []  # nothing is read without consent
    first = location(await client.post(target, data={"consent": "yes"}, headers=alice))
    assert calls == [{"registration_number": "BR-2019-004211"}]
    page = await client.get(first, headers=alice)
    assert 'value="Golden Dragon Kitchen Ltd"' in page.text
    assert 'data-prefill-source="business_name"' in page.text
    assert "From Local Administration's register" in page.text
    async with container.uow() as uow:
        reads = list(
            await uow.session.scalars(
                select(AuditEntryRow.action).where(AuditEntryRow.action == "register.read")
            )
        )
    assert reads == ["register.read"]


async def test_pay_explains_when_the_provider_is_down(client: httpx.AsyncClient) -> None:
    draft = await start(client)
    await fill(client, draft)
    application_id = await submit(client, draft)
    response = await client.post(f"/applications/{application_id}/payment", headers=ALICE)
    assert response.status_code in (409, 503)
    assert "There is a problem" in response.text
    stranger = await client.post(f"/applications/{application_id}/payment", headers=BOB)
    assert stranger.status_code == 404
