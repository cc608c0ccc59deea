"""Staff sign in through the real OpenID provider and the directory keeps what their groups say
(ADR 0042): a group mapping in the settings turns groups into a department and roles; a group
naming a department or role the platform does not know refuses the sign-in with a clear
message (logged and audited) and leaves no role; a group taken away takes its role away at the
next sign-in. Written refusals first."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from civicloom.audit.tables import AuditEntryRow
from civicloom.identity import (
    GrantKind,
    GrantRequest,
    ScopedPrincipal,
    grant_to_staff,
    read_department_staff,
)
from civicloom.identity.tables import SessionRow, StaffRow
from civicloom.runtime import Container
from civicloom.settings import Settings, StaffGroup
from tests.conftest import unavailable
from tests.oidc.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    Provider,
    login_at_provider,
    provider_available,
    run_provider,
)
from tests.wiring import reconfigure

APP = "http://testserver"
CALLBACK = f"{APP}/auth/callback/staff"
MAPPING = {
    "la-licensing": StaffGroup(department="local-admin", roles=("officer", "licensing-officer")),
    "la-supervisors": StaffGroup(
        department="local-admin", roles=("supervisor", "licensing-officer")
    ),
    "tax-officers": StaffGroup(department="tax", roles=("officer", "tax-officer")),
    "fisheries-officers": StaffGroup(department="fisheries", roles=("officer",)),
    "tax-wizards": StaffGroup(department="tax", roles=("wizard",)),
}
ACCOUNTS: dict[str, dict[str, Any]] = {
    "kim": {
        "name": "Kim Lee",
        "email": "kim.lee@la.example.gov",
        "groups": ["la-licensing", "vpn"],
    },
    "ines": {
        "name": "Ines Alva",
        "email": "ines.alva@la.example.gov",
        "groups": ["la-supervisors"],
    },
    "fin": {"name": "Fin Moss", "groups": ["fisheries-officers"]},
    "wiz": {"name": "Wiz Ard", "groups": ["tax-officers", "tax-wizards"]},
}


def write_accounts(path: Path, accounts: dict[str, dict[str, Any]]) -> None:
    """What the provider says of each account from the next sign-in on."""
    path.write_text(json.dumps(accounts))


@pytest.fixture(scope="module")
def accounts_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("oidc") / "accounts.json"


@pytest.fixture(scope="module")
def group_provider(accounts_file: Path) -> Iterator[Provider]:
    """A provider whose accounts carry groups, read from a file at every sign-in."""
    reason = provider_available()
    if reason:
        unavailable("the OpenID provider", RuntimeError(reason))
    accounts_file.write_text(json.dumps(ACCOUNTS))
    with run_provider([CALLBACK], [f"{APP}/"], accounts_file) as provider:
        yield provider


@pytest.fixture
async def staff_client(
    settings: Settings, container: Container, group_provider: Provider, accounts_file: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The app trusting the provider for staff, with the group mapping."""
    from civicloom.app import create_app

    write_accounts(accounts_file, ACCOUNTS)
    reconfigure(
        container,
        settings.model_copy(
            update={
                "public_url": APP,
                "oidc_staff_issuer": group_provider.issuer,
                "oidc_staff_client_id": CLIENT_ID,
                "oidc_staff_client_secret": SecretStr(CLIENT_SECRET),
                "oidc_staff_scope": "openid profile email roles",
                "oidc_staff_group_mapping": MAPPING,
            }
        ),
    )
    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url=APP) as client:
        yield client


async def sign_in(client: httpx.AsyncClient, login: str) -> httpx.Response:
    """Sign in as ``login`` at the provider; returns the app's answer to the callback."""
    start = await client.get("/auth/login", params={"audience": "staff", "next": "/auth/me"})
    assert start.status_code == 303, start.text
    back = await login_at_provider(start.headers["location"], login, CALLBACK)
    return await client.get(back)


async def entry(container: Container, subject: str) -> tuple[str | None, list[str]] | None:
    async with container.uow() as uow:
        row = await uow.session.get(StaffRow, subject)
        return None if row is None else (row.department, sorted(row.roles))


async def sessions_of(container: Container, subject: str) -> int:
    async with container.uow() as uow:
        return len(
            list(await uow.session.scalars(select(SessionRow).where(SessionRow.subject == subject)))
        )


async def failed_logins(container: Container) -> list[dict[str, Any]]:
    async with container.uow() as uow:
        rows = await uow.session.scalars(
            select(AuditEntryRow).where(AuditEntryRow.action == "identity.login_failed")
        )
        return [dict(r.details or {}) for r in rows]


async def test_a_group_naming_an_unknown_department_is_refused_with_no_role(
    staff_client: httpx.AsyncClient, container: Container, capsys: pytest.CaptureFixture[str]
) -> None:
    refused = await sign_in(staff_client, "fin")
    assert refused.status_code == 401
    assert refused.json()["detail"] == (
        "the login was refused (unknown-department: the identity provider places you in"
        " department 'fisheries', which this platform does not know)"
    )
    assert (await staff_client.get("/auth/me")).status_code == 401
    assert await sessions_of(container, "fin") == 0
    assert await entry(container, "fin") is None  # never known: not added
    assert await failed_logins(container) == [
        {"method": "oidc-staff", "reason": "unknown-department"}
    ]
    logged = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    refusals = [e for e in logged if e.get("event") == "staff_claims_refused"]
    assert [(e["reason"], e["department"], e["roles"]) for e in refusals] == [
        ("unknown-department", "fisheries", ["officer"])
    ]


async def test_a_group_naming_an_unknown_role_is_refused_with_no_role(
    staff_client: httpx.AsyncClient, container: Container
) -> None:
    refused = await sign_in(staff_client, "wiz")
    assert refused.status_code == 401
    assert refused.json()["detail"] == (
        "the login was refused (unknown-role: the identity provider gives you the role 'wizard',"
        " which this platform does not know in department 'tax')"
    )
    assert await sessions_of(container, "wiz") == 0
    assert await entry(container, "wiz") is None
    tax = await read_department_staff(container.uow(), container.clock, "tax")
    assert sorted(tax) == ["tariq"]  # the demo's officer only: wiz is nobody's staff


async def test_groups_become_department_and_roles_and_a_removed_group_removes_the_role(
    staff_client: httpx.AsyncClient, container: Container, accounts_file: Path
) -> None:
    signed_in = await sign_in(staff_client, "ines")
    assert signed_in.status_code == 303, signed_in.text
    me = (await staff_client.get("/auth/me")).json()
    assert (me["department"], me["roles"]) == (
        "local-admin",
        ["licensing-officer", "supervisor"],
    )
    assert await entry(container, "ines") == ("local-admin", ["licensing-officer", "supervisor"])
    staff = await read_department_staff(container.uow(), container.clock, "local-admin")
    assert staff["ines"].email == "ines.alva@la.example.gov"
    assert "supervisor" in staff["ines"].roles

    # the provider takes her out of the supervisors' group and puts her in the officers'
    changed = {**ACCOUNTS, "ines": {**ACCOUNTS["ines"], "groups": ["la-licensing"]}}
    write_accounts(accounts_file, changed)
    again = await sign_in(staff_client, "ines")
    assert again.status_code == 303, again.text
    me = (await staff_client.get("/auth/me")).json()
    assert me["roles"] == ["licensing-officer", "officer"]
    assert await entry(container, "ines") == ("local-admin", ["licensing-officer", "officer"])
    staff = await read_department_staff(container.uow(), container.clock, "local-admin")
    assert staff["ines"].roles == frozenset({"officer", "licensing-officer"})

    # every group taken away: the sign-in is refused and the entry keeps no role
    write_accounts(accounts_file, {**ACCOUNTS, "ines": {"name": "Ines Alva", "groups": []}})
    refused = await sign_in(staff_client, "ines")
    assert refused.status_code == 401
    assert "no-staff-role" in refused.json()["detail"]
    assert await entry(container, "ines") == ("local-admin", [])
    staff = await read_department_staff(container.uow(), container.clock, "local-admin")
    assert "ines" not in staff

    async with container.uow() as uow:
        changes = await uow.session.scalars(
            select(AuditEntryRow.details)
            .where(AuditEntryRow.action == "staff.updated", AuditEntryRow.subject_id == "ines")
            .order_by(AuditEntryRow.position)
        )
        assert [(d["department"], d["roles"]) for d in changes] == [
            ("local-admin", ["licensing-officer", "supervisor"]),
            ("local-admin", ["licensing-officer", "officer"]),
            ("local-admin", []),
        ]


async def test_a_grant_stays_with_its_department_when_the_person_moves(
    staff_client: httpx.AsyncClient, container: Container, accounts_file: Path
) -> None:
    write_accounts(
        accounts_file, {**ACCOUNTS, "ines": {**ACCOUNTS["ines"], "groups": ["la-licensing"]}}
    )
    assert (await sign_in(staff_client, "ines")).status_code == 303
    today = container.clock.now().date()
    hana = ScopedPrincipal(
        subject="hana",
        display_name="Hana Sato",
        roles=frozenset({"department-admin"}),
        department="local-admin",
    )
    await grant_to_staff(
        container.uow(),
        container.clock,
        hana,
        GrantRequest(GrantKind.ACTING_UP, "ines", today, today, "Cover", role="supervisor"),
    )
    me = (await staff_client.get("/auth/me")).json()
    assert me["roles"] == ["licensing-officer", "officer", "supervisor"]  # her live session

    # the provider moves her to the Tax Authority: Local Administration's grant stays behind
    write_accounts(
        accounts_file, {**ACCOUNTS, "ines": {**ACCOUNTS["ines"], "groups": ["tax-officers"]}}
    )
    assert (await sign_in(staff_client, "ines")).status_code == 303
    me = (await staff_client.get("/auth/me")).json()
    assert (me["department"], me["roles"]) == ("tax", ["officer", "tax-officer"])
    local = await read_department_staff(container.uow(), container.clock, "local-admin")
    assert "ines" not in local
