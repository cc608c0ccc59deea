"""People in the staff directory before their first sign-in (issue 17, ADR 0042 amended): the
staff identity provider's user listing (SCIM 2.0 JSON) is imported through the same group
mapping as a sign-in. An imported licensing officer who never signed in is offered work and can
be assigned it; people the platform cannot place are skipped with the reason and nothing of
them is written; a dry run writes nothing; a deactivated person keeps no role. Every expected
value is written by hand."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from typer.testing import CliRunner

from civicloom.applications import StepRunner
from civicloom.audit.tables import AuditEntryRow
from civicloom.identity import OidcClientConfig, read_department_staff
from civicloom.identity.cli import staff_app
from civicloom.identity.staffimport import import_staff, scim_users
from civicloom.identity.tables import StaffRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.world import Departments, drain, submit, task_of

MAPPING: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "la-licensing": ("local-admin", ("officer", "licensing-officer")),
    "tax-officers": ("tax", ("officer", "tax-officer")),
    "fisheries-officers": ("fisheries", ("officer",)),
}
CONFIG = OidcClientConfig(
    audience="staff",
    issuer="",
    client_id="",
    client_secret="",
    redirect_uri="",
    group_mapping=MAPPING,
)
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def listing(*users: dict[str, Any]) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": len(users),
        "Resources": list(users),
    }


KIM = {
    "id": "4f1c",
    "externalId": "kim",
    "userName": "kim.lee",
    "displayName": "Kim Lee",
    "emails": [{"value": "kim.lee@local-admin.example.gov", "primary": True}],
    "preferredLanguage": "zh-Hans",
    "active": True,
    "groups": [{"display": "la-licensing", "value": "g-1"}],
}
FISHER = {
    "externalId": "fisher",
    "displayName": "Fish Er",
    "groups": [{"display": "fisheries-officers"}],
}
TWO_DEPARTMENTS = {
    "externalId": "split",
    "displayName": "Split Person",
    "groups": [{"display": "la-licensing"}, {"display": "tax-officers"}],
}


async def footprint(container: Container) -> tuple[int, int]:
    """Directory entries and their audit entries."""
    async with container.uow() as uow:
        rows = await uow.session.scalar(select(func.count()).select_from(StaffRow))
        audit = await uow.session.scalar(
            select(func.count())
            .select_from(AuditEntryRow)
            .where(AuditEntryRow.action == "staff.updated")
        )
    return int(rows or 0), int(audit or 0)


async def test_an_imported_officer_is_offered_work_before_signing_in(
    client: httpx.AsyncClient, container: Container
) -> None:
    before = await footprint(container)
    done = await import_staff(
        container.uow(), container.clock, CONFIG, scim_users(listing(KIM, FISHER, TWO_DEPARTMENTS))
    )
    assert [(p.subject, p.outcome, p.problem is not None) for p in done] == [
        ("kim", "added", False),
        ("fisher", "skipped", True),
        ("split", "skipped", True),
    ]
    assert "'fisheries'" in str(done[1].problem)
    assert await footprint(container) == (before[0] + 1, before[1] + 1)  # Kim only, audited
    async with container.uow() as uow:
        kim = await uow.session.get(StaffRow, "kim")
        entry = await uow.session.scalar(
            select(AuditEntryRow).where(
                AuditEntryRow.action == "staff.updated", AuditEntryRow.subject_id == "kim"
            )
        )
    assert kim is not None
    assert (kim.display_name, kim.email, kim.locale, kim.department, kim.source) == (
        "Kim Lee",
        "kim.lee@local-admin.example.gov",
        "zh-Hans",
        "local-admin",
        "staff-import",
    )
    assert kim.signed_in_at is None
    assert entry is not None
    assert entry.actor == "cli:staff-import"

    staff = await read_department_staff(container.uow(), container.clock, "local-admin")
    assert sorted(staff["kim"].roles) == ["licensing-officer", "officer"]

    # Grace, the supervisor, assigns a licensing review to Kim, who never signed in
    runner = StepRunner(container, Departments().gateway())
    app_id = await submit(container, "import-1")
    await drain(runner)
    task = await task_of(container, app_id, "licensing_review")
    assigned = await client.post(
        f"/api/v1/tasks/{task.id}/assignment",
        json={"assignee": "kim"},
        headers=as_persona("grace"),
    )
    assert assigned.status_code == 200, assigned.text
    assert (await task_of(container, app_id, "licensing_review")).assignee == "kim"


async def test_a_dry_run_writes_nothing_and_a_second_import_changes_nothing(
    container: Container,
) -> None:
    before = await footprint(container)
    users = scim_users(listing(KIM))
    dry = await import_staff(container.uow(), container.clock, CONFIG, users, apply=False)
    assert [(p.subject, p.outcome) for p in dry] == [("kim", "added")]
    assert await footprint(container) == before
    await import_staff(container.uow(), container.clock, CONFIG, users)
    again = await import_staff(container.uow(), container.clock, CONFIG, users)
    assert [(p.subject, p.outcome) for p in again] == [("kim", "unchanged")]
    assert await footprint(container) == (before[0] + 1, before[1] + 1)


async def test_a_deactivated_person_keeps_no_role(container: Container) -> None:
    await import_staff(container.uow(), container.clock, CONFIG, scim_users(listing(KIM)))
    gone = await import_staff(
        container.uow(), container.clock, CONFIG, scim_users([{**KIM, "active": False}])
    )
    assert [(p.subject, p.outcome) for p in gone] == [("kim", "deactivated")]
    staff = await read_department_staff(container.uow(), container.clock, "local-admin")
    assert "kim" not in staff


async def test_the_command_imports_and_names_who_it_skipped(
    container: Container, tmp_path: Path, monkeypatch: Any
) -> None:
    """``civicloom staff import FILE``: exit 1 naming the person it could not place."""
    file = tmp_path / "users.json"
    file.write_text(json.dumps(listing(KIM, FISHER)), encoding="utf-8")
    monkeypatch.setenv("CIVICLOOM_DATABASE_URL", container.settings.effective_database_url)
    monkeypatch.setenv(
        "CIVICLOOM_OIDC_STAFF_GROUP_MAPPING",
        json.dumps(
            {
                "la-licensing": {
                    "department": "local-admin",
                    "roles": ["officer", "licensing-officer"],
                },
                "fisheries-officers": {"department": "fisheries", "roles": ["officer"]},
            }
        ),
    )
    from civicloom.settings import get_settings

    get_settings.cache_clear()
    try:
        # the command runs its own event loop: in a thread, as from a shell
        result = await asyncio.to_thread(
            CliRunner().invoke, staff_app, ["import", str(file)], env={"COLUMNS": "200"}
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1, result.output
    assert "kim" in result.output
    assert "added" in result.output
    assert "skipped" in result.output
    assert "fisheries" in result.output
    async with container.uow() as uow:
        assert await uow.session.get(StaffRow, "kim") is not None
        assert await uow.session.get(StaffRow, "fisher") is None
