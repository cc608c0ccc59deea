"""Payments P2G on the GovStack listener: a payer institution is a machine client whose key
holds ``payments:p2g`` (a scope with a digit); nobody else reaches the bills."""

from __future__ import annotations

import httpx
import pytest

from civicloom.identity import create_api_key, list_api_keys
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.govstack.conftest import MachineKey


async def test_a_payer_institution_key_with_a_digit_in_its_scope(container: Container) -> None:
    issued = await create_api_key(
        container.uow(),
        container.clock,
        name="first-bank",
        department="local-admin",
        scopes=["payments:p2g"],
    )
    assert issued.client.scopes == ("payments:p2g",)
    assert [c.scopes for c in await list_api_keys(container.uow())] == [("payments:p2g",)]


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("payer institution", 200),  # reaches the bill lookup: GovStack's "01 unknown bill"
        ("key without payments:p2g", 403),
        ("anonymous", 401),
        ("alice", 403),
        ("fiona", 403),
        ("priya", 403),
    ],
)
async def test_who_may_inquire_a_bill(
    gs_client: httpx.AsyncClient, machine_key: MachineKey, who: str, status: int
) -> None:
    headers = {
        "payer institution": {"api_key": await machine_key("payments:p2g")},
        "key without payments:p2g": {"api_key": await machine_key("messaging:send")},
        "anonymous": {},
    }.get(who) or as_persona(who)
    got = await gs_client.get("/bills/LIC-2099-000001", headers=headers)
    assert got.status_code == status, got.text
    if status == 200:
        assert (got.json()["code"], got.json()["reason"]) == ("01", "unknown bill")
