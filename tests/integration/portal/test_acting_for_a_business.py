"""The portal refuses Bob's moves for someone else's company by the field, translated, and writes
nothing (issue 17, ADR 0041); Alice's own journey is unchanged (tests/integration/portal/
test_journey.py)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import func, select

from civicloom.app import create_app
from civicloom.applications.tables import ApplicationRow
from civicloom.departments import CAPABILITY_GATEWAY, CapabilityCall, TransientError
from civicloom.outbox.tables import OutboxRow
from civicloom.runtime import Container
from civicloom.settings import Settings
from tests.conftest import as_persona
from tests.logins import oidc_sign_in
from tests.wiring import reconfigure, swap

BOB = {**as_persona("bob"), "Accept": "text/html"}
NOT_YOURS_EN = (
    "You cannot apply for this business: the business register does not name you as its "
    "director, and no director has given you a mandate for this service"
)
NOT_YOURS_ZH = "您不能代表该企业申请：企业登记簿未登记您为其董事，也没有董事授权您办理此项服务"


async def written(container: Container) -> tuple[int, int]:
    async with container.uow() as uow:
        apps = await uow.session.scalar(select(func.count()).select_from(ApplicationRow))
        events = await uow.session.scalar(select(func.count()).select_from(OutboxRow))
    return int(apps or 0), int(events or 0)


async def bobs_draft(
    client: httpx.AsyncClient,
    service: str,
    pages: dict[str, dict[str, str]],
    who: dict[str, str] = BOB,
) -> str:
    start = await client.post(f"/services/{service}/apply", headers=who)
    assert start.status_code == 303, start.text[:500]
    found = re.match(r"^/drafts/([^/]+)/", start.headers["location"])
    assert found, start.headers["location"]
    draft = found[1]
    for page_id, answers in pages.items():
        saved = await client.post(f"/drafts/{draft}/pages/{page_id}", data=answers, headers=who)
        assert saved.status_code == 303, saved.text[:2000]
    return draft


async def send(client: httpx.AsyncClient, draft: str, headers: dict[str, str]) -> httpx.Response:
    check = await client.get(f"/drafts/{draft}/check", headers=headers)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', check.text)
    assert key, check.text[:2000]
    return await client.post(
        f"/drafts/{draft}/submit", data={"idempotency_key": key[1]}, headers=headers
    )


RESTAURANT = {
    "business": {
        "business_registration_number": "BR-2019-004211",
        "business_name": "Golden Dragon Kitchen Ltd",
        "director_name": "Bob Martins",
    },
    "premises": {
        "parcel_id": "P-0042-117",
        "premises_address": "12 Harbour Street, Riverton",
        "seating": "40",
        "grease_trap": "yes",
        "cuisine": "chinese",
    },
    "staff": {
        "staff_count": "8",
        "opening_date-day": "1",
        "opening_date-month": "3",
        "opening_date-year": "2099",
        "contact_email": "bob.martins@example.org",
    },
}


async def test_bob_cannot_open_a_restaurant_for_golden_dragon_in_the_portal(
    client: httpx.AsyncClient, container: Container, bob: dict[str, str]
) -> None:
    draft = await bobs_draft(client, "open-a-restaurant", RESTAURANT, bob)
    before = await written(container)
    refused = await send(client, draft, bob)
    assert refused.status_code == 400
    assert NOT_YOURS_EN in refused.text
    assert f'href="/drafts/{draft}/pages/business?return=check"' in refused.text
    in_chinese = await send(client, draft, {**bob, "Accept-Language": "zh-CN"})
    assert in_chinese.status_code == 400
    assert NOT_YOURS_ZH in in_chinese.text
    assert await written(container) == before


async def test_bob_cannot_move_golden_dragon_in_the_portal(
    client: httpx.AsyncClient, container: Container, bob: dict[str, str]
) -> None:
    move = {
        "move": {
            "business_registration_number": "BR-2019-004211",
            "new_parcel_id": "P-0042-117",
            "new_address": "1 Stolen Street, Riverton",
            "effective_date-day": "15",
            "effective_date-month": "1",
            "effective_date-year": "2027",
        }
    }
    draft = await bobs_draft(client, "change-of-business-address", move, bob)
    before = await written(container)
    refused = await send(client, draft, bob)
    assert refused.status_code == 400
    assert NOT_YOURS_EN in refused.text
    assert await written(container) == before


async def test_applying_for_a_company_in_arrears_shows_bob_nothing_of_it(
    client: httpx.AsyncClient, container: Container, bob: dict[str, str]
) -> None:
    """Rusty Spoon Diner Ltd owes tax; Bob is not its director. He is refused at submission,
    so no tax clearance runs for him and nothing of the company reaches his pages."""
    pages = {
        **RESTAURANT,
        "business": {
            "business_registration_number": "BR-2021-000666",
            "business_name": "Rusty Spoon Diner Ltd",
        },
    }
    draft = await bobs_draft(client, "open-a-restaurant", pages, bob)
    before = await written(container)
    refused = await send(client, draft, bob)
    assert refused.status_code == 400
    assert NOT_YOURS_EN in refused.text
    assert "Victor Petrov" not in refused.text  # the register's director is not shown
    assert "arrears" not in refused.text.casefold()
    assert await written(container) == before


MOVE_PAGES = {
    "move": {
        "business_registration_number": "BR-2019-004211",
        "new_parcel_id": "P-0042-117",
        "new_address": "12 Harbour Street, Riverton",
        "effective_date-day": "15",
        "effective_date-month": "1",
        "effective_date-year": "2027",
    }
}


async def test_alice_moves_golden_dragon_with_either_login(
    client: httpx.AsyncClient, container: Container, alice: dict[str, str]
) -> None:
    """The register names Alice: the change of address goes through, signed in either way."""
    draft = await bobs_draft(client, "change-of-business-address", MOVE_PAGES, alice)
    sent = await send(client, draft, alice)
    assert sent.status_code == 303, sent.text[:2000]
    assert sent.headers["location"].endswith("/confirmation")
    async with container.uow() as uow:
        row = await uow.session.scalar(select(ApplicationRow))
    assert row is not None
    assert (row.service_id, row.applicant_id) == ("change-of-business-address", "alice")


async def test_the_session_carries_the_businesses_the_register_confirms(
    client: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    """Both providers' Alice and Bob claim Golden Dragon (tests/oidc/harness.py for the OIDC
    one); the register names Alice only, so Bob's session holds no business."""
    mine = (await client.get("/auth/me", headers=alice)).json()
    assert mine["mandates"] == ["BR-2019-004211"]
    assert "business-representative" in mine["roles"]
    his = (await client.get("/auth/me", headers=bob)).json()
    assert his["mandates"] == []
    assert his["roles"] == ["citizen"]


async def test_a_register_that_is_down_at_sign_in_gives_no_mandate_and_still_signs_in(
    container: Container, oidc_settings: Settings
) -> None:
    """The claim is never waved through: with the register down, Alice signs in with none."""

    class Down:
        async def call(self, call: CapabilityCall) -> Any:
            raise TransientError("local-admin SOAP fault Server.Unavailable")

    reconfigure(container, oidc_settings)
    app = create_app(container)
    swap(app, CAPABILITY_GATEWAY, Down())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
        alice = await oidc_sign_in(browser, container, "alice")
        me = (await browser.get("/auth/me", headers=alice)).json()
    assert (me["subject"], me["mandates"], me["roles"]) == ("alice", [], ["citizen"])
