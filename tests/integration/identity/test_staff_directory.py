"""The department administrator's grants (ADR 0042), refusals first: nobody but a department
administrator grants, and only within their own department; a person on leave is offered no
work and sent no escalation; a colleague acting up as supervisor receives the escalation (a
real SMTP server) and reassigns the task. Every expected value is written by hand.

Demo staff of local-admin (blueprints/demo/personas.yaml): Olivia and Nora (licensing
officers), Felix (officer), Grace (supervisor, licensing officer), Hana (department
administrator). Lars is the labour office's officer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from civicloom.app import create_app
from civicloom.applications import StepRunner, sweep_slas
from civicloom.audit.tables import AuditEntryRow
from civicloom.identity import (
    GrantKind,
    GrantRequest,
    ScopedPrincipal,
    grant_to_staff,
    read_department_staff,
)
from civicloom.identity.tables import StaffGrantRow
from civicloom.kernel import ValidationFailed
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.world import Departments, drain, overdue, submit, task_of
from tests.integration.identity.conftest import csrf_from
from tests.integration.notifications.conftest import (
    SmtpServer,
    free_port,
    notification_worker,
    relay_all,
)

GRACE = "grace.park@local-admin.example.gov"
NORA = "nora.quinn@local-admin.example.gov"
OLIVIA = "olivia.grant@local-admin.example.gov"
TAX_ADMIN = ScopedPrincipal(
    subject="tess", display_name="Tess", roles=frozenset({"department-admin"}), department="tax"
)
LABOUR_ADMIN = ScopedPrincipal(
    subject="lena", display_name="Lena", roles=frozenset({"department-admin"}), department="labour"
)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def form(today: date, **fields: str) -> dict[str, str]:
    """A grant form from today for a week."""
    until = today + timedelta(days=7)
    return {
        "starts_on-day": str(today.day),
        "starts_on-month": str(today.month),
        "starts_on-year": str(today.year),
        "ends_on-day": str(until.day),
        "ends_on-month": str(until.month),
        "ends_on-year": str(until.year),
        "reason": "Annual leave",
        **fields,
    }


async def trace(container: Container) -> tuple[int, int]:
    """Grants and directory audit entries: what a refused grant must leave alone."""
    async with container.uow() as uow:
        grants = await uow.session.scalar(select(func.count()).select_from(StaffGrantRow))
        audits = await uow.session.scalar(
            select(func.count())
            .select_from(AuditEntryRow)
            .where(AuditEntryRow.action.in_(("staff.granted", "staff.grant_revoked")))
        )
    return int(grants or 0), int(audits or 0)


def error_beside(html: str, field: str) -> str:
    """The error message shown above one field of the form."""
    found = re.search(
        rf'<p id="{field}-error" class="govuk-error-message">\s*'
        r'<span class="govuk-visually-hidden">[^<]*</span>\s*([^<]+)</p>',
        html,
    )
    assert found is not None, f"no error beside {field}"
    return found[1].strip()


async def test_nobody_but_a_department_administrator_opens_or_uses_the_directory(
    client: httpx.AsyncClient, container: Container
) -> None:
    today = container.clock.now().date()
    for persona in ("olivia", "grace", "sam", "priya", "ada", "alice"):
        page = await client.get("/backoffice/directory", headers=as_persona(persona))
        assert page.status_code == 403, persona
        posted = await client.post(
            "/backoffice/directory/grants",
            data=form(today, kind="leave", subject="nora"),
            headers=as_persona(persona),
        )
        assert posted.status_code == 403, persona
    assert await trace(container) == (0, 0)


async def test_a_department_administrator_grants_only_in_their_department(
    client: httpx.AsyncClient, container: Container
) -> None:
    today = container.clock.now().date()
    # Tax's administrator cannot put the labour office's officer on leave
    with pytest.raises(ValidationFailed) as refused:
        await grant_to_staff(
            container.uow(),
            container.clock,
            TAX_ADMIN,
            GrantRequest(GrantKind.LEAVE, "lars", today, today, "Away"),
        )
    assert [(e.field, e.rule) for e in refused.value.errors] == [("subject", "department-staff")]
    assert await trace(container) == (0, 0)

    hana = as_persona("hana")
    cases: list[tuple[dict[str, str], str, str]] = [
        ({"kind": "leave", "subject": "lars"}, "subject", "Choose a person of your department"),
        (
            {"kind": "acting-up", "subject": "olivia", "role": "labour-officer"},
            "role",
            "Choose a role of your department",
        ),
        (
            {"kind": "delegation", "subject": "olivia", "delegate": "lars"},
            "delegate",
            "Choose a colleague of your department",
        ),
        ({"kind": "leave", "subject": "hana"}, "subject", "You cannot grant anything to yourself"),
        # Delegating a supervisor's work to herself would hand Hana the supervisor's roles.
        (
            {"kind": "delegation", "subject": "grace", "delegate": "hana"},
            "delegate",
            "You cannot grant anything to yourself",
        ),
    ]
    for fields, field, message in cases:
        page = await client.post(
            "/backoffice/directory/grants", data=form(today, **fields), headers=hana
        )
        assert page.status_code == 400, fields
        assert error_beside(page.text, field) == message
        assert await trace(container) == (0, 0)

    # a labour grant is not Hana's to withdraw (nor to see)
    labour = await grant_to_staff(
        container.uow(),
        container.clock,
        LABOUR_ADMIN,
        GrantRequest(GrantKind.LEAVE, "lars", today, today, "Away"),
    )
    assert await trace(container) == (1, 1)
    page = await client.get("/backoffice/directory", headers=hana)
    assert page.status_code == 200
    assert labour.id not in page.text
    withdrawn = await client.post(f"/backoffice/directory/grants/{labour.id}/revoke", headers=hana)
    assert withdrawn.status_code == 404
    assert await trace(container) == (1, 1)


async def dev_login(client: httpx.AsyncClient, persona: str) -> None:
    """Sign in through the dev login form, as a browser does (a session: grants apply)."""
    page = await client.get("/auth/dev-login")
    signed = await client.post(
        "/auth/dev-login",
        data={"persona": persona, "csrf_token": csrf_from(page.text), "next": "/auth/me"},
    )
    assert signed.status_code == 303, signed.text


def team(html: str, reference_select: str = "assignee") -> list[str]:
    """The people offered in the task page's "assign to" list."""
    select_html = re.search(
        rf'<select[^>]*name="{reference_select}"[^>]*>(.*?)</select>', html, re.S
    )
    assert select_html is not None, "no assignment list"
    return re.findall(r'<option value="([^"]*)"', select_html[1])


async def test_leave_and_acting_up_decide_who_is_offered_work_and_who_is_escalated_to(
    client: httpx.AsyncClient, container: Container, smtp: SmtpServer
) -> None:
    today = container.clock.now().date()
    hana = as_persona("hana")
    runner = StepRunner(container, Departments().gateway())
    app_id = await submit(container, "directory-1")
    await drain(runner)
    task = await task_of(container, app_id, "licensing_review")

    # Nora is signed in before Hana makes her acting supervisor: her session takes it at once
    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as nora:
        await dev_login(nora, "nora")
        assert "supervisor" not in (await nora.get("/auth/me")).json()["roles"]

        for fields in (
            {"kind": "leave", "subject": "grace"},
            {"kind": "acting-up", "subject": "nora", "role": "supervisor"},
        ):
            done = await client.post(
                "/backoffice/directory/grants", data=form(today, **fields), headers=hana
            )
            assert done.status_code == 303, done.text
        assert await trace(container) == (2, 2)
        assert (await nora.get("/auth/me")).json()["roles"] == [
            "licensing-officer",
            "officer",
            "supervisor",
        ]
        page = (await client.get("/backoffice/directory", headers=hana)).text
        assert "Acting up as Supervisor" in page
        assert "On leave" in page

        # the step breaches its deadline: the escalation goes to the acting supervisor only
        await overdue(container, task.id)
        assert await sweep_slas(container.uow(), container.clock.now()) == (0, 1)
        await relay_all(notification_worker(container, smtp.port))
        await relay_all(notification_worker(container, smtp.port))
        assert len(smtp.mailbox.to(NORA)) == 1
        assert smtp.mailbox.to(GRACE) == []

        # Nora reassigns it: Grace, on leave, is not offered, and is refused if named
        task_page = await nora.get(f"/backoffice/tasks/{task.id}")
        assert task_page.status_code == 200
        assert team(task_page.text) == ["nora", "olivia"]
        token = csrf_from(task_page.text)
        refused = await nora.post(
            f"/backoffice/tasks/{task.id}/assignment",
            data={"assignee": "grace", "csrf_token": token},
        )
        assert refused.status_code == 422
        assert (await task_of(container, app_id, "licensing_review")).assignee is None
        moved = await nora.post(
            f"/backoffice/tasks/{task.id}/assignment",
            data={"assignee": "olivia", "csrf_token": token},
        )
        assert moved.status_code == 303, moved.text
        assert (await task_of(container, app_id, "licensing_review")).assignee == "olivia"

        # Hana withdraws the acting-up: Nora's session loses the role at once
        acting = await _grant_id(container, "nora")
        withdrawn = await client.post(f"/backoffice/directory/grants/{acting}/revoke", headers=hana)
        assert withdrawn.status_code == 303
        assert "supervisor" not in (await nora.get("/auth/me")).json()["roles"]
        again = await nora.post(
            f"/backoffice/tasks/{task.id}/assignment",
            data={"assignee": "nora", "csrf_token": token},
        )
        assert again.status_code == 403

    async with container.uow() as uow:
        audit = await uow.session.execute(
            select(AuditEntryRow.action, AuditEntryRow.actor, AuditEntryRow.details)
            .where(AuditEntryRow.action.in_(("staff.granted", "staff.grant_revoked")))
            .order_by(AuditEntryRow.occurred_at, AuditEntryRow.action)
        )
        rows: list[tuple[str, str, dict[str, Any]]] = [(a, b, dict(c)) for a, b, c in audit]
    assert [(a, actor, d["kind"], d["role"]) for a, actor, d in rows] == [
        ("staff.granted", "dev-login:hana", "leave", None),
        ("staff.granted", "dev-login:hana", "acting-up", "supervisor"),
        ("staff.grant_revoked", "dev-login:hana", "acting-up", "supervisor"),
    ]


async def _grant_id(container: Container, subject: str) -> str:
    async with container.uow() as uow:
        found = await uow.session.scalar(
            select(StaffGrantRow.id).where(
                StaffGrantRow.subject == subject, StaffGrantRow.revoked_at.is_(None)
            )
        )
    assert found is not None
    return str(found)


async def test_a_delegation_hands_the_work_and_its_roles_to_a_colleague(
    client: httpx.AsyncClient, container: Container
) -> None:
    today = container.clock.now().date()
    runner = StepRunner(container, Departments().gateway())
    app_id = await submit(container, "directory-2")
    await drain(runner)
    task = await task_of(container, app_id, "licensing_review")
    # Felix holds no licensing-officer role: the licensing review is not his to claim
    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as felix:
        await dev_login(felix, "felix")
        page = await felix.get(f"/backoffice/tasks/{task.id}")
        refused = await felix.post(
            f"/backoffice/tasks/{task.id}/claim", data={"csrf_token": csrf_from(page.text)}
        )
        assert refused.status_code == 403

        done = await client.post(
            "/backoffice/directory/grants",
            data=form(today, kind="delegation", subject="olivia", delegate="felix"),
            headers=as_persona("hana"),
        )
        assert done.status_code == 303, done.text
        staff = await read_department_staff(container.uow(), container.clock, "local-admin")
        assert "olivia" not in staff  # away: offered no work
        assert staff["felix"].roles == frozenset({"officer", "licensing-officer"})
        assert (await felix.get("/auth/me")).json()["roles"] == ["licensing-officer", "officer"]
        claimed = await felix.post(
            f"/backoffice/tasks/{task.id}/claim", data={"csrf_token": csrf_from(page.text)}
        )
        assert claimed.status_code == 303, claimed.text
    assert (await task_of(container, app_id, "licensing_review")).assignee == "felix"
