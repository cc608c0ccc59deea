"""The applicant's account page (issue 19): how and in which language messages reach them,
checked beside each field, audited without the addresses; only applicants have one."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from civicloom.audit.tables import AuditEntryRow
from civicloom.notifications.tables import PreferenceRow
from civicloom.runtime import Container
from tests.conftest import as_persona

ALICE = {**as_persona("alice"), "Accept": "text/html"}
FORM: dict[str, Any] = {
    "channels": ["sms", "portal"],
    "phone": "+44 7700 900123",
    "locale": "zh-Hans",
}


async def preference_rows(container: Container) -> list[tuple[str, str | None, str | None, str]]:
    async with container.uow() as uow:
        rows = await uow.session.scalars(select(PreferenceRow))
        return [(r.subject, r.email, r.phone, r.locale) for r in rows]


async def audit_of(container: Container) -> list[tuple[str, str, dict[str, object]]]:
    async with container.uow() as uow:
        rows = await uow.session.scalars(
            select(AuditEntryRow).where(AuditEntryRow.action == "identity.preferences_changed")
        )
        return [(r.subject_id, r.actor, dict(r.details)) for r in rows]


async def test_alice_sees_her_contact_details_and_changes_them(
    container: Container, client: httpx.AsyncClient
) -> None:
    page = await client.get("/account", headers=ALICE)
    assert page.status_code == 200
    assert 'id="account-name">Alice Chen<' in page.text
    assert 'value="alice.chen@example.org"' in page.text
    assert 'name="channels" type="checkbox" value="email" checked' in page.text
    assert 'name="channels" type="checkbox" value="sms">' in page.text

    saved = await client.post(
        "/account", data={**FORM, "email": "alice.chen@example.org"}, headers=ALICE
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/account?saved=1"
    assert await preference_rows(container) == [
        ("alice", "alice.chen@example.org", "+447700900123", "zh-Hans")
    ]
    entries = await audit_of(container)
    assert entries == [
        ("alice", "dev-login:alice", {"channels": ["portal", "sms"], "locale": "zh-Hans"})
    ]
    again = await client.get("/account?saved=1", headers=ALICE)
    assert "Your contact preferences are saved." in again.text
    assert 'value="+447700900123"' in again.text


async def test_bad_contact_details_are_explained_beside_the_field_and_store_nothing(
    container: Container, client: httpx.AsyncClient
) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({**FORM, "email": "alice@"}, "email", "Enter an email address in the correct format"),
        ({**FORM, "phone": ""}, "phone", "Enter a phone number to get text messages"),
        ({**FORM, "phone": "07700 900123"}, "phone", "Enter a phone number with its country code"),
        ({"locale": "en"}, "channels", "Select how you want to get messages"),
        ({**FORM, "channels": ["email"], "email": ""}, "email", "Enter an email address to get"),
        ({**FORM, "locale": "fr"}, "locale", "Select the language of your messages"),
    ]
    for data, field, message in cases:
        answer = await client.post("/account", data=data, headers=ALICE)
        assert answer.status_code == 400, data
        assert f'id="{field}-error"' in answer.text, data
        assert message in answer.text, data
        assert f'href="#{field}"' in answer.text, data
    kept = await client.post("/account", data={**FORM, "email": "alice@"}, headers=ALICE)
    assert 'value="alice@"' in kept.text  # what was typed stays to be corrected
    assert await preference_rows(container) == []
    assert await audit_of(container) == []


async def test_only_applicants_have_an_account_page(client: httpx.AsyncClient) -> None:
    for persona in ("olivia", "fiona", "priya", "omar"):
        refused = await client.get(
            "/account", headers={**as_persona(persona), "Accept": "text/html"}
        )
        assert refused.status_code == 403, persona
        posted = await client.post(
            "/account",
            data={**FORM, "email": "x@example.org"},
            headers={**as_persona(persona), "Accept": "text/html"},
        )
        assert posted.status_code == 403, persona
    anonymous = await client.get("/account", headers={"Accept": "text/html"})
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/auth/login")
    header = await client.get("/services", headers=ALICE)
    assert 'href="/account" id="account-link">Alice Chen' in header.text
    staff = await client.get("/services", headers={**as_persona("olivia"), "Accept": "text/html"})
    assert 'id="account-link"' not in staff.text


async def test_the_api_refuses_a_bad_address_too(
    container: Container, client: httpx.AsyncClient
) -> None:
    answer = await client.put(
        "/api/v1/me/notification-preferences",
        json={"email": "alice@", "locale": "en", "channels": ["email"]},
        headers=as_persona("alice"),
    )
    assert answer.status_code == 422
    assert await preference_rows(container) == []
