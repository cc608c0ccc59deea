"""Portal number fields take ASCII digits only; the message stands beside the field (en, zh)."""

from __future__ import annotations

import re

import httpx
import pytest

from civicloom.departments import CapabilityCall
from tests.integration.portal.test_eligibility import HTML, URL, ZH, zoning_calls

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
