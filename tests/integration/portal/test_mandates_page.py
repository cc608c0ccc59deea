"""The portal's mandates page: Alice gives Bob a mandate for Golden Dragon, Bob accepts it and
applies, Alice revokes it; Bob cannot give one himself (issue 17, ADR 0041)."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from civicloom.registries.tables import DelegatedMandateRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.test_applications_api import restaurant

ALICE = {**as_persona("alice"), "Accept": "text/html"}
BOB = {**as_persona("bob"), "Accept": "text/html"}
GRANT = {
    "registration_number": "BR-2019-004211",
    "delegate": "bob",
    "services": "open-a-restaurant",
    "valid_until-day": "31",
    "valid_until-month": "12",
    "valid_until-year": "2030",
}


async def mandates(container: Container) -> int:
    async with container.uow() as uow:
        found = await uow.session.scalar(select(func.count()).select_from(DelegatedMandateRow))
    return int(found or 0)


async def test_give_accept_apply_and_revoke_through_the_page(
    client: httpx.AsyncClient, container: Container
) -> None:
    given = await client.post("/mandates", data=GRANT, headers=ALICE)
    assert given.status_code == 303, given.text[:2000]
    alices = await client.get("/mandates", headers=ALICE)
    assert "Who can act for your business" in alices.text
    mandate = re.search(r'data-mandate="([^"]+)"', alices.text)
    assert mandate, alices.text
    assert "Waiting for acceptance" in alices.text

    bobs = await client.get("/mandates", headers={**BOB, "Accept-Language": "zh-CN"})
    assert "您代表的企业" in bobs.text  # "Businesses you act for"
    assert "Golden Dragon Kitchen Ltd (BR-2019-004211)" in bobs.text
    assert f'action="/mandates/{mandate[1]}/accept"' in bobs.text

    # nobody but the delegate accepts; nobody but the parties revokes
    assert (await client.post(f"/mandates/{mandate[1]}/accept", headers=ALICE)).status_code == 404
    accepted = await client.post(f"/mandates/{mandate[1]}/accept", headers=BOB)
    assert accepted.status_code == 303
    applied = await client.post(
        "/api/v1/applications", json=restaurant(), headers=as_persona("bob")
    )
    assert applied.status_code == 201, applied.text

    revoked = await client.post(f"/mandates/{mandate[1]}/revoke", headers=ALICE)
    assert revoked.status_code == 303
    assert "Revoked" in (await client.get("/mandates", headers=BOB)).text
    refused = await client.post(
        "/api/v1/applications",
        json=restaurant(opening_date="2099-05-01"),
        headers=as_persona("bob"),
    )
    assert refused.status_code == 422


async def test_bob_cannot_give_a_mandate_for_golden_dragon(
    client: httpx.AsyncClient, container: Container
) -> None:
    before = await mandates(container)
    page = await client.post(
        "/mandates",
        data={**GRANT, "delegate": "mallory"},
        headers={**BOB, "Accept-Language": "zh-CN"},
    )
    assert page.status_code == 400
    assert "只有企业登记簿登记的董事才能为该企业授予授权" in page.text
    english = await client.post("/mandates", data={**GRANT, "delegate": "mallory"}, headers=BOB)
    assert english.status_code == 400
    assert (
        "Only a director the business register names can give a mandate for this business"
        in english.text
    )
    assert 'href="#registration_number"' in english.text
    assert await mandates(container) == before
    empty = await client.post("/mandates", data={"registration_number": ""}, headers=ALICE)
    assert empty.status_code == 400
    for message in (
        "Enter the business registration number",
        "Enter the user id of the person you give the mandate to",
        "Select at least one service",
        "Enter a real date",
    ):
        assert message in empty.text
    assert await mandates(container) == before
