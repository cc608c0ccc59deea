"""The eligibility pre-check: no sign-in, the departments' models, the outcome and the rule."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from civicloom.departments import CAPABILITY_GATEWAY, CapabilityCall, InProcessGateway
from civicloom.runtime import Container
from tests.wiring import swap

HTML = {"Accept": "text/html"}
ZH = {**HTML, "Accept-Language": "zh-Hans"}
URL = "/services/open-a-restaurant/eligibility"
PARCELS = {
    "P-0042-117": {"zone": "commercial", "allowed": True},
    "P-0042-305": {"zone": "residential", "allowed": False},
}


@pytest.fixture
def zoning_calls(client: httpx.AsyncClient) -> list[CapabilityCall]:
    """Local Administration's zoning register, as its simulator answers, on the app under test."""
    calls: list[CapabilityCall] = []

    async def zoning(call: CapabilityCall) -> dict[str, Any]:
        calls.append(call)
        return PARCELS.get(call.input["parcel_id"], {"zone": "unknown", "allowed": False})

    app: Any = client._transport.app  # type: ignore[attr-defined]
    swap(app, CAPABILITY_GATEWAY, InProcessGateway({"local-admin.zoning_check": zoning}))
    return calls


def row(html: str, check: str) -> str:
    """The text of one outcome row, tags stripped."""
    found = re.search(rf'data-check="{check}">(.*?)</div>', html, re.S)
    assert found, f"no outcome {check}"
    return " ".join(re.sub(r"<[^>]+>", " ", found[1]).split())


async def test_questions_without_sign_in(client: httpx.AsyncClient) -> None:
    page = await client.get(URL, headers=HTML)
    assert page.status_code == 200
    names = re.findall(r'<input[^>]+name="(\w+)"', page.text)
    assert names == ["check", "parcel_id", "seating", "staff_count"]
    assert 'method="get"' in page.text
    service = await client.get("/services/open-a-restaurant", headers=HTML)
    assert 'href="/services/open-a-restaurant/eligibility"' in service.text


async def test_eligible_parcel_shows_fee_review_and_why(
    client: httpx.AsyncClient, zoning_calls: list[CapabilityCall]
) -> None:
    query = {"check": "1", "parcel_id": "P-0042-117", "seating": "40", "staff_count": "12"}
    page = await client.get(URL, params=query, headers=HTML)
    assert page.status_code == 200, page.text[:1000]
    assert 'data-eligible="yes"' in page.text
    assert "Allowed" in row(page.text, "zoning")
    assert "Zoning allows the activity" in row(page.text, "zoning")
    assert "Needed when you apply" in row(page.text, "employer")  # 12 staff > 10
    assert "€400.00" in row(page.text, "fees")
    asked = [c.input for c in zoning_calls]
    assert asked == [{"parcel_id": "P-0042-117", "activity": "restaurant"}]
    assert zoning_calls[0].idempotency_key.startswith("precheck:open-a-restaurant:zoning:")
    # inspection routing needs the contractor's screening: not part of the pre-check
    assert 'data-check="screening"' not in page.text


async def test_refused_parcel_in_chinese(
    client: httpx.AsyncClient, zoning_calls: list[CapabilityCall]
) -> None:
    query = {"check": "1", "parcel_id": "P-0042-305", "seating": "12", "staff_count": "3"}
    page = await client.get(URL, params=query, headers=ZH)
    assert page.status_code == 200
    assert 'data-eligible="no"' in page.text
    assert "不允许" in row(page.text, "zoning")
    # the department's reason in its own Chinese words (the model's texts, ADR 0070)
    assert "原因： 分区规定不允许在该地块从事此项经营" in row(page.text, "zoning")
    assert "Zoning does not allow" not in page.text
    assert "无需" in row(page.text, "employer")
    assert "座位数" in page.text  # the blueprint's Chinese label
    assert "150.00" in row(page.text, "fees")


async def test_wrong_answers_are_explained_and_nothing_is_asked(
    client: httpx.AsyncClient, zoning_calls: list[CapabilityCall]
) -> None:
    query = {"check": "1", "parcel_id": "42", "seating": "many", "staff_count": ""}
    page = await client.get(URL, params=query, headers=HTML)
    assert page.status_code == 400
    assert "There is a problem" in page.text
    assert 'href="#parcel_id"' in page.text
    assert 'href="#seating"' in page.text
    assert 'href="#staff_count"' in page.text
    assert "Number of seats must be a whole number" in page.text
    assert zoning_calls == []


async def test_register_down_says_so(client: httpx.AsyncClient) -> None:
    app: Any = client._transport.app  # type: ignore[attr-defined]
    swap(app, CAPABILITY_GATEWAY, InProcessGateway({}))  # the register answers nothing
    query = {"check": "1", "parcel_id": "P-0042-117", "seating": "40", "staff_count": "3"}
    page = await client.get(URL, params=query, headers=HTML)
    assert page.status_code == 200
    assert "We could not ask the department just now" in row(page.text, "zoning")
    assert "€400.00" in row(page.text, "fees")


async def test_unknown_service_is_404(client: httpx.AsyncClient, container: Container) -> None:
    page = await client.get("/services/no-such-service/eligibility", headers=HTML)
    assert page.status_code == 404
