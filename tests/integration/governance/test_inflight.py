"""In-flight applications (ADR 0058) on SQLite and PostgreSQL: Sam's change adds a question
and a fire-safety review and declares that running applications may move. The dry run lists
each open application on version 5 with what would change for it or why it stays; only Local
Administration's service owner runs it; a repeated run moves nothing twice; an application
moves back while it has not progressed, and is refused in words once it has."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select

from civicloom.applications import withdraw_application
from civicloom.applications.execution import claim_steps
from civicloom.governance import (
    ChangeKind,
    NotAllowed,
    approve_change,
    draft_change,
    edit_draft,
    get_change,
    publish_due_changes,
    submit_change,
)
from civicloom.governance.inflight import (
    MoveRefused,
    clear_finished_move_snapshots,
    declare_migration,
    move_back,
    plan_migration,
    run_migration,
)
from civicloom.governance.tables import ApplicationMoveRow
from civicloom.kernel import Conflict, FixedClock, Principal, ValidationFailed
from civicloom.runtime import Container
from civicloom.web.templating import translations_for
from tests.conftest import as_persona
from tests.integration.governance.flow import (
    count,
    person,
    start,
    with_outdoor_seats,
    workspace,
)
from tests.integration.governance.test_change_requests import apply

FIRE_SAFETY = {
    "id": "fire_safety",
    "kind": "officer_review",
    "title": {"en": "Fire safety review", "zh-Hans": "消防安全审查"},
    "department": "local-admin",
    "role": "licensing-officer",
    "after": ["zoning"],
    "sla": {"working_days": 5},
}
TAX_SERVICE_OWNER = Principal(
    subject="tessa",
    display_name="Tessa Nyberg",
    roles=frozenset({"service-owner"}),
    department="tax",
    authenticated_by="dev-login",
)


def with_fire_safety(files: dict[str, str]) -> dict[str, str]:
    """The draft with a fire-safety review after the zoning check, before the licensing
    decision."""
    ((rel, text),) = [(k, v) for k, v in files.items() if k.startswith("services/")]
    document = yaml.safe_load(text)
    steps: list[dict[str, Any]] = document["steps"]
    at = next(i for i, s in enumerate(steps) if s["id"] == "licensing_review")
    steps[at]["after"] = [*steps[at]["after"], "fire_safety"]
    steps.insert(at, FIRE_SAFETY)
    return {**files, rel: yaml.safe_dump(document, allow_unicode=True, sort_keys=False)}


async def claim_ready(container: Container, clock: FixedClock) -> None:
    """A worker leases every step that is due: each is now running at its department."""
    async with container.uow() as uow:
        await claim_steps(uow.session, "test-worker", clock.now(), 50, timedelta(minutes=5))
        await uow.commit()


async def published_with_migration(container: Container, clock: FixedClock) -> str:
    """Sam's change (new optional question, fire-safety review, running applications may
    move), approved by Ruth and Gabriel and published a week later."""
    sam = person(container, "sam")
    ws = workspace(container)
    change_id = await draft_change(
        container.uow(),
        clock,
        ws,
        sam,
        kind=ChangeKind.BLUEPRINT,
        target="open-a-restaurant",
        title="Fire safety review and outdoor seats",
    )
    files = dict((await get_change(container.uow(), change_id)).files)
    files = with_outdoor_seats(with_fire_safety(files))
    await edit_draft(container.uow(), clock, sam, change_id, files)
    await declare_migration(container.uow(), clock, sam, change_id)
    await submit_change(container.uow(), clock, ws, sam, change_id, clock.now() + timedelta(days=7))
    for approver in ("ruth", "gabriel"):
        await approve_change(container.uow(), clock, person(container, approver), change_id)
    clock.advance(timedelta(days=7))
    assert await publish_due_changes(container.uow(), clock, ws) == 1
    return change_id


async def versions(container: Container, client: httpx.AsyncClient, *ids: str) -> list[int]:
    alice = as_persona("alice")
    found = []
    for app_id in ids:
        response = await client.get(f"/api/v1/applications/{app_id}", headers=alice)
        found.append(int(response.json()["blueprint_version"]))
    return found


async def test_only_the_owning_departments_service_owner_moves_applications(
    container: Container, client: httpx.AsyncClient
) -> None:
    clock = start()
    container.clock = clock
    running = await apply(client, 40)
    sam, ruth = person(container, "sam"), person(container, "ruth")
    draft = await draft_change(
        container.uow(),
        clock,
        workspace(container),
        sam,
        kind=ChangeKind.BLUEPRINT,
        target="open-a-restaurant",
        title="Outdoor seats",
    )
    with pytest.raises(NotAllowed):  # only the author declares it
        await declare_migration(container.uow(), clock, ruth, draft)
    with pytest.raises(ValidationFailed) as refused:  # seating is no new field
        await declare_migration(container.uow(), clock, sam, draft, defaults={"seating": 0})
    assert [(e.field, e.rule) for e in refused.value.errors] == [("defaults.seating", "new-field")]
    with pytest.raises(Conflict, match="not published yet"):
        await plan_migration(container.uow(), sam, draft)

    change_id = await published_with_migration(container, clock)
    audit = await count(container, "audit_entries")
    alice, olivia, gabriel = (person(container, p) for p in ("alice", "olivia", "gabriel"))
    for outsider in (TAX_SERVICE_OWNER, alice, olivia, gabriel):
        with pytest.raises(NotAllowed):
            await run_migration(container.uow(), clock, outsider, change_id)
        with pytest.raises(NotAllowed):
            await run_migration(container.uow(), clock, outsider, change_id, [running["id"]])
    for outsider in (TAX_SERVICE_OWNER, alice, olivia):
        with pytest.raises(NotAllowed):
            await plan_migration(container.uow(), outsider, change_id)
    # the central quality gate reads the dry run; it does not run it
    assert [
        p.reference for p in (await plan_migration(container.uow(), gabriel, change_id)).plans
    ] == [running["reference"]]
    assert await count(container, "governance_application_moves") == 0
    assert await count(container, "audit_entries") == audit
    assert await versions(container, client, running["id"]) == [5]


async def test_dry_run_run_replay_and_moving_back(
    container: Container, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = start()
    container.clock = clock
    busy = await apply(client, 30)
    await claim_ready(container, clock)  # Busy's five checks are running at their departments
    clock.advance(timedelta(minutes=1))
    first = await apply(client, 40)
    clock.advance(timedelta(minutes=1))  # the dry run lists the oldest first
    second = await apply(client, 12)
    withdrawn = await apply(client, 20)
    await withdraw_application(container.uow(), clock, person(container, "alice"), withdrawn["id"])
    change_id = await published_with_migration(container, clock)
    sam = person(container, "sam")

    plan = await plan_migration(container.uow(), sam, change_id)
    assert (plan.owner, plan.from_version, plan.to_version) == ("local-admin", 5, 6)
    shown = {
        p.reference: (p.refusal.render("en") if p.refusal else [c.render("en") for c in p.changes])
        for p in plan.plans
    }
    moves = [
        "Step changed: “Licensing decision”",
        "Step added: “Fire safety review”",
        "New optional question, left empty: “Outdoor seats”",
    ]
    assert shown == {
        busy["reference"]: "Step “Business register check” is running at Local Administration",
        first["reference"]: moves,
        second["reference"]: moves,
    }
    assert await count(container, "governance_application_moves") == 0  # a dry run writes nothing
    (busy_plan,) = [p for p in plan.plans if p.refusal]
    assert busy_plan.refusal is not None
    zh = translations_for("zh-Hans").gettext
    assert busy_plan.refusal.render("zh-Hans", zh) == "步骤“企业登记核查”正在地方行政局处理中"

    run = await run_migration(container.uow(), clock, sam, change_id)
    assert [p.reference for p in run.moved] == [first["reference"], second["reference"]]
    assert run.not_moved == ()  # only movable ones are tried when none are named
    assert await versions(container, client, busy["id"], first["id"], second["id"]) == [5, 6, 6]

    # a replay moves nothing twice; a finished application is not moved, with its reason
    again = await run_migration(container.uow(), clock, sam, change_id)
    assert (again.moved, again.not_moved) == ((), ())
    named = await run_migration(
        container.uow(), clock, sam, change_id, [first["id"], withdrawn["id"], busy["id"]]
    )
    assert named.moved == ()
    today = clock.now().date().isoformat()
    assert [p.refusal.render("en") for p in named.not_moved if p.refusal] == [
        f"Already moved by this change on {today}",
        "Finished: the application is withdrawn",
        "Step “Business register check” is running at Local Administration",
    ]
    assert await count(container, "governance_application_moves") == 2

    # the first moves back (nothing progressed): version 5, its steps as they were
    steps_before = await step_states(container, first["id"])
    assert steps_before["fire_safety"] == "waiting"
    await move_back(container.uow(), clock, sam, change_id, first["id"])
    assert await versions(container, client, first["id"]) == [5]
    back = await step_states(container, first["id"])
    assert "fire_safety" not in back
    assert back == {k: v for k, v in steps_before.items() if k != "fire_safety"}
    with pytest.raises(MoveRefused, match=f"Already moved back on {today} by Sam Okafor"):
        await move_back(container.uow(), clock, sam, change_id, first["id"])
    replay = await run_migration(container.uow(), clock, sam, change_id, [first["id"]])
    assert [p.refusal.render("en") for p in replay.not_moved if p.refusal] == [
        f"Moved back on {today}; this change does not move it again"
    ]

    # the operator's dry run on the host says the same in words (nothing written)
    assert await cli_dry_run(container, monkeypatch, change_id) == [
        "Fire safety review and outdoor seats: version 5 → 6 (2 running)",
        f"  {busy['reference']}  not moved: Step “Business register check” is running at "
        "Local Administration",
        f"  {first['reference']}  would move:",
        *(f"      {line}" for line in moves),
        # moved at the same moment: listed by reference
        *sorted(
            [
                f"  {first['reference']}  moved {today} by Sam Okafor: moved back {today} by "
                "Sam Okafor",
                f"  {second['reference']}  moved {today} by Sam Okafor: can move back",
            ]
        ),
    ]

    # the second progresses (its checks start at the departments): it stays on version 6
    await claim_ready(container, clock)
    with pytest.raises(MoveRefused) as refused:
        await move_back(container.uow(), clock, sam, change_id, second["id"])
    assert refused.value.line.render("en") == (
        "Step “Business register check” has progressed since the move"
        " (now running at the department)"
    )
    assert await versions(container, client, second["id"]) == [6]
    with pytest.raises(NotAllowed):
        await move_back(container.uow(), clock, TAX_SERVICE_OWNER, change_id, second["id"])

    from civicloom.schema import TABLES

    audit_table: Any = next(t for t in TABLES if t.__tablename__ == "audit_entries")
    async with container.uow() as uow:
        actions = list(
            await uow.session.scalars(
                select(audit_table.action)
                .where(audit_table.action.like("application.version_%"))
                .order_by(audit_table.seq)
            )
        )
    assert actions == [
        "application.version_moved",
        "application.version_moved",
        "application.version_restored",
    ]


async def step_states(container: Container, application_id: str) -> dict[str, str]:
    from civicloom.applications import TaskState, tasks_of_application

    async with container.uow() as uow:
        tasks = await tasks_of_application(uow.session, application_id, list(TaskState))
    return {t.step_id: t.state for t in tasks}


async def test_a_finished_applications_move_record_keeps_no_copy_of_its_answers(
    container: Container, client: httpx.AsyncClient
) -> None:
    """Attack review: a move record kept the application's answers (and officers' reasons) to
    allow moving back, and nothing ever cleared them. Once the application is finished (or was
    moved back) the copy is cleared by the retention job; the move itself stays on record."""
    clock = start()
    container.clock = clock
    stays_open = await apply(client, 40)
    finishes = await apply(client, 12)
    change_id = await published_with_migration(container, clock)
    sam = person(container, "sam")
    run = await run_migration(container.uow(), clock, sam, change_id)
    assert len(run.moved) == 2
    await withdraw_application(container.uow(), clock, person(container, "alice"), finishes["id"])

    assert await clear_finished_move_snapshots(container.uow, clock) == 1
    async with container.uow() as uow:
        rows = {r.application_id: r for r in await uow.session.scalars(select(ApplicationMoveRow))}
    assert rows[finishes["id"]].before == {}
    assert rows[finishes["id"]].before_cleared_at is not None
    assert rows[finishes["id"]].to_version_id != rows[finishes["id"]].from_version_id  # on record
    assert rows[stays_open["id"]].before != {}  # it may still move back
    assert rows[stays_open["id"]].before_cleared_at is None
    assert await clear_finished_move_snapshots(container.uow, clock) == 0  # nothing twice
    with pytest.raises(MoveRefused, match="Finished: the application is withdrawn"):
        await move_back(container.uow(), clock, sam, change_id, finishes["id"])


async def test_the_migration_page_as_sam_gabriel_and_a_citizen(
    container: Container, client: httpx.AsyncClient
) -> None:
    from tests.integration.governance.test_change_pages import browser
    from tests.integration.identity.conftest import csrf_from

    clock = start()
    container.clock = clock
    busy = await apply(client, 30)
    await claim_ready(container, clock)
    clock.advance(timedelta(minutes=1))
    ready = await apply(client, 40)
    change_id = await published_with_migration(container, clock)
    url = f"/backoffice/changes/{change_id}/migration"

    async with browser(container, None) as anonymous:
        assert (await anonymous.get(url)).status_code == 303
    async with browser(container, "alice") as alice:
        assert (await alice.get(url)).status_code == 403
    async with browser(container, "gabriel") as gabriel:
        page = await gabriel.get(url)
        assert page.status_code == 200
        assert "run-button" not in page.text  # the quality gate reads the dry run only
        refused = await gabriel.post(url, data={"csrf_token": csrf_from(page.text)})
        assert refused.status_code == 403
    assert await count(container, "governance_application_moves") == 0

    async with browser(container, "sam") as sam:
        page = await sam.get(url)
        assert page.status_code == 200
        assert f'data-application="{ready["reference"]}"' in page.text
        assert "Step added: “Fire safety review”" in page.text
        assert "Step “Business register check” is running at Local Administration" in page.text
        ran = await sam.post(url, data={"csrf_token": csrf_from(page.text)})
        assert ran.status_code == 303
        page = await sam.get(url)
        assert f"Move {ready['reference']} back" in page.text
        assert await versions(container, client, busy["id"], ready["id"]) == [5, 6]
        moved_back = await sam.post(
            f"{url}/back",
            data={"csrf_token": csrf_from(page.text), "application_id": ready["id"]},
        )
        assert moved_back.status_code == 303
        page = await sam.get(url)
        today = clock.now().date().isoformat()
        assert f"Moved back {today} by Sam Okafor" in page.text
        again = await sam.post(
            f"{url}/back",
            data={"csrf_token": csrf_from(page.text), "application_id": ready["id"]},
        )
        assert again.status_code == 409
        assert f"Already moved back on {today} by Sam Okafor" in again.text
    assert await versions(container, client, ready["id"]) == [5]


async def cli_dry_run(
    container: Container, monkeypatch: pytest.MonkeyPatch, change_id: str
) -> list[str]:
    """``civicloom change migration`` against the test's database: its lines."""
    import asyncio

    from typer.testing import CliRunner

    from civicloom.cli import app
    from civicloom.settings import get_settings

    monkeypatch.setenv("CIVICLOOM_PROFILE", "test")
    monkeypatch.setenv("CIVICLOOM_DATABASE_URL", container.settings.effective_database_url)
    monkeypatch.setenv("CIVICLOOM_VAR_DIR", str(container.settings.var_dir))
    monkeypatch.setenv("CIVICLOOM_BLUEPRINTS_DIR", str(container.settings.blueprints_dir))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    try:  # the command runs its own event loop, so not on the test's loop
        result = await asyncio.to_thread(
            CliRunner().invoke, app, ["change", "migration", change_id]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return result.output.splitlines()
