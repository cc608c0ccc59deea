"""Portal fields take ASCII digits only and refuse control or hidden characters; the message
stands beside the field (en, zh_Hans)."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from civicloom.applications.tables import ApplicationRow
from civicloom.departments import CapabilityCall
from civicloom.portal.tables import DraftRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.portal.test_eligibility import HTML, URL, ZH, zoning_calls
from tests.integration.portal.test_journey import ALICE, BUSINESS, PREMISES, start
from tests.integration.test_applications_api import restaurant

__all__ = ["zoning_calls"]  # the fixture, used by name below


def message_beside(html: str, field: str) -> str:
    """The error message shown above the input of ``field`` (GOV.UK error-message span)."""
    found = re.search(rf'id="{field}-error"[^>]*>(.*?)</p>', html, re.S)
    assert found, f"no error message beside {field}"
    return " ".join(re.sub(r"<[^>]+>", " ", found[1]).split())


@pytest.mark.parametrize("seating", ["٤٠", "２０００", "4_0", "1e3", "inf", "0x28"])
async def test_digits_other_than_ascii_are_refused(
    client: httpx.AsyncClient, zoning_calls: list[CapabilityCall], seating: str
) -> None:
    query = {"check": "1", "parcel_id": "P-0042-117", "seating": seating, "staff_count": "3"}
    page = await client.get(URL, params=query, headers=HTML)
    assert page.status_code == 400
    assert 'href="#seating"' in page.text
    said = message_beside(page.text, "seating")
    if seating in ("٤٠", "２０００"):
        assert said.endswith("Number of seats must be written with the digits 0 to 9")
    else:
        assert said.endswith("Number of seats must be a whole number")
    assert zoning_calls == []  # nothing was asked of a department


async def test_a_trailing_space_is_not_a_problem(
    client: httpx.AsyncClient, zoning_calls: list[CapabilityCall]
) -> None:
    query = {"check": "1", "parcel_id": "P-0042-117", "seating": " 40 ", "staff_count": "3"}
    page = await client.get(URL, params=query, headers=HTML)
    assert page.status_code == 200


async def test_the_message_is_in_chinese(
    client: httpx.AsyncClient, zoning_calls: list[CapabilityCall]
) -> None:
    query = {"check": "1", "parcel_id": "P-0042-117", "seating": "٤٠", "staff_count": "3"}
    page = await client.get(URL, params=query, headers=ZH)
    assert page.status_code == 400
    assert message_beside(page.text, "seating").endswith("座位数必须使用数字 0 至 9 填写")
    assert zoning_calls == []


async def test_a_parcel_with_a_bidi_override_is_refused(
    client: httpx.AsyncClient, zoning_calls: list[CapabilityCall]
) -> None:
    query = {"check": "1", "parcel_id": "P-0042-\u202e711", "seating": "40", "staff_count": "3"}
    page = await client.get(URL, params=query, headers=HTML)
    assert page.status_code == 400
    assert message_beside(page.text, "parcel_id").endswith(
        "must not contain control or hidden formatting characters"
    )
    assert zoning_calls == []


async def test_form_pages_refuse_other_digits_and_hidden_characters(
    client: httpx.AsyncClient, container: Container
) -> None:
    draft = await start(client)
    business = {**BUSINESS, "business_name": "Golden\u202e Dragon"}
    page = await client.post(f"/drafts/{draft}/pages/business", data=business, headers=ALICE)
    assert page.status_code == 400
    assert message_beside(page.text, "business_name").endswith(
        "must not contain control or hidden formatting characters"
    )
    premises = {**PREMISES, "seating": "٤٠"}
    page = await client.post(f"/drafts/{draft}/pages/premises", data=premises, headers=ALICE)
    assert page.status_code == 400
    assert message_beside(page.text, "seating").endswith("must be written with the digits 0 to 9")
    async with container.uow() as uow:
        row = await uow.session.get(DraftRow, draft)
    assert row is not None
    assert "business_name" not in row.data
    assert "seating" not in row.data


async def test_an_answer_with_control_characters_is_refused_beside_the_field(
    client: httpx.AsyncClient, container: Container
) -> None:
    created = await client.post(
        "/api/v1/applications", json=restaurant(), headers=as_persona("alice")
    )
    application_id = created.json()["id"]
    page = await client.post(
        f"/applications/{application_id}/information",
        data={"answer": "Here it is\x1b[31m"},
        headers=ALICE,
    )
    assert page.status_code == 400
    # (the field itself is shown only while a request is open; the summary links to it)
    assert 'href="#answer"' in page.text
    assert "Your answer must not contain control or hidden formatting characters" in page.text
    async with container.uow() as uow:
        state = await uow.session.scalar(
            select(ApplicationRow.state).where(ApplicationRow.id == application_id)
        )
    assert state == "in_progress"
