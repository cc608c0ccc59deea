"""Attacks of issue 16 that one body per route cannot show: each names who must not succeed.

Each test tries the attack with a real object and a body that would work for the rightful
sender, then checks that nothing changed (task, application, timeline, outbox, department
calls). They fail on the code the issue was filed against.
"""

from __future__ import annotations

import json
import time

from sqlalchemy import func, select

from civicloom.applications import OfficerDecision, claim_task, decide_task
from civicloom.applications.tables import ApplicationRow, TaskRow, TimelineRow
from civicloom.connectors import CALLBACK_VERIFIERS, sign_callback
from civicloom.outbox.tables import OutboxRow
from tests.kpiwork import run_kpi_jobs
from tests.security.world import Platform, World, changes, sign_in, snapshot
from tests.unit.documents import samples


async def world_of(platform: Platform) -> World:
    """An empty world whose objects Alice owns."""
    return World(platform, await sign_in(platform, "alice"))


async def state(platform: Platform, application_id: str, step: str) -> tuple[str, str, str | None]:
    """(application state, task state, assignee) of one step."""
    async with platform.container.uow() as uow:
        app = await uow.session.get(ApplicationRow, application_id)
        task = await uow.session.scalar(
            select(TaskRow).where(TaskRow.application_id == application_id, TaskRow.step_id == step)
        )
    assert app is not None
    assert task is not None
    return app.state, task.state, task.assignee


async def count(platform: Platform, table: type, *where: object) -> int:
    """Rows of one table."""
    async with platform.container.uow() as uow:
        query = select(func.count()).select_from(table).where(*where)  # type: ignore[arg-type]
        return int(await uow.session.scalar(query) or 0)


async def test_another_department_cannot_complete_the_fee_step_by_callback(
    platform: Platform,
) -> None:
    # The environment department signs correctly with its own secret, but names
    # local-admin's payment step: the fee must stay due, the licence must not follow.
    world = await world_of(platform)
    due = await world.due_app()
    app_id = due["application_id"]
    async with platform.container.uow() as uow:
        payment = await uow.session.get(TaskRow, due["payment_task_id"])
    assert payment is not None
    before = await state(platform, app_id, "payment")
    timeline = await count(platform, TimelineRow, TimelineRow.application_id == app_id)
    outbox = await count(platform, OutboxRow)
    secret = platform.container.get(CALLBACK_VERIFIERS)["environment"].secret
    body = json.dumps(
        {
            "idempotency_key": payment.idempotency_key,
            "payment_id": "forged",
            "amount": "400.00",
            "currency": "EUR",
            "outcome": "cleared",
        }
    ).encode()
    stamp = str(int(time.time()))
    async with platform.client() as client:
        response = await client.post(
            "/api/v1/callbacks/environment",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Civicloom-Timestamp": stamp,
                "X-Civicloom-Signature": sign_callback(secret, stamp, body),
            },
        )
    await platform.drain()
    assert before[1] == "awaiting_external"
    assert await state(platform, app_id, "payment") == before
    assert response.status_code in (403, 404, 409, 422), response.text
    assert await count(platform, TimelineRow, TimelineRow.application_id == app_id) == timeline
    assert await count(platform, OutboxRow) == outbox
    assert "local-admin.register_activity" not in platform.departments.calls


async def test_a_supervisor_assigns_only_to_staff_of_the_tasks_department(
    platform: Platform,
) -> None:
    world = await world_of(platform)
    grace = await sign_in(platform, "grace")
    task = await world.la_task()
    url = f"/api/v1/tasks/{task['task_id']}/assignment"
    headers = {"X-CSRF-Token": grace.csrf}
    refused = {}
    for assignee in ("elena", "lars", "nobody-at-all", "priya", "alice"):
        before = await snapshot(platform)
        response = await grace.client.post(url, json={"assignee": assignee}, headers=headers)
        refused[assignee] = (response.status_code, changes(before, await snapshot(platform)))
    assert refused == {
        "elena": (422, []),  # an officer of environment
        "lars": (422, []),  # an officer of labour
        "nobody-at-all": (422, []),  # no such person
        "priya": (422, []),  # the operator: not an officer of local-admin
        "alice": (422, []),  # a citizen (the applicant herself)
    }
    assert (await state(platform, task["application_id"], "licensing_review"))[2] is None
    accepted = await grace.client.post(url, json={"assignee": "olivia"}, headers=headers)
    assert accepted.status_code == 200, accepted.text


async def test_a_decided_task_cannot_be_reassigned(platform: Platform) -> None:
    world = await world_of(platform)
    grace = await sign_in(platform, "grace")
    task = await world.la_task()
    olivia = platform.principal("olivia")
    await claim_task(platform.container.uow(), platform.container.clock, olivia, task["task_id"])
    await decide_task(
        platform.container.uow(),
        platform.container.clock,
        olivia,
        task["task_id"],
        OfficerDecision("approve"),
        None,
    )
    before = await snapshot(platform)
    response = await grace.client.post(
        f"/api/v1/tasks/{task['task_id']}/assignment",
        json={"assignee": "otto"},
        headers={"X-CSRF-Token": grace.csrf},
    )
    assert response.status_code == 409, response.text
    assert changes(before, await snapshot(platform)) == []
    assert (await state(platform, task["application_id"], "licensing_review"))[2] == "olivia"


async def test_an_officer_does_not_decide_a_task_a_colleague_claimed(platform: Platform) -> None:
    # Otto is an officer of local-admin (not a licensing officer); Olivia claimed the task.
    world = await world_of(platform)
    otto = await sign_in(platform, "otto")
    task = await world.la_task_claimed()
    for path, body in (
        ("decision", {"decision": "reject", "reason": "I do not like restaurants."}),
        ("information-requests", {"message": "Send me everything again."}),
        ("claim", None),
    ):
        before = await snapshot(platform)
        response = await otto.client.post(
            f"/api/v1/tasks/{task['task_id']}/{path}",
            json=body,
            headers={"X-CSRF-Token": otto.csrf},
        )
        assert response.status_code == 403, (path, response.status_code, response.text)
        assert changes(before, await snapshot(platform)) == [], path
    assert await state(platform, task["application_id"], "licensing_review") == (
        "in_progress",
        "awaiting_officer",
        "olivia",
    )


async def test_the_inspector_sees_only_what_is_shared_with_environment(
    platform: Platform,
) -> None:
    # Alice's contact e-mail and the director's name are local-admin's, not shared with
    # environment (blueprint x-owner / x-visible-to); the parcel and seating are shared.
    world = await world_of(platform)
    elena = await sign_in(platform, "elena")
    task = await world.env_task()
    page = await elena.client.get(f"/backoffice/tasks/{task['task_id']}")
    api = await elena.client.get(f"/api/v1/tasks/{task['task_id']}")
    assert (page.status_code, api.status_code) == (200, 200)
    for response in (page, api):
        assert "P-0042-117" in response.text  # shared: the parcel
        assert "alice@example.org" not in response.text
        assert "Alice Chen" not in response.text
        assert "BR-2019-004211" in response.text  # shared with every department


async def test_a_supervisor_sees_only_the_figures_of_their_department(platform: Platform) -> None:
    # The KPI figures per department step are the department's business: Grace (local-admin)
    # and Erik (environment) each see their own rows of the service's CSV, not the others'.
    world = await world_of(platform)
    await world.env_task()
    await world.la_task()
    await run_kpi_jobs(platform.container)  # the worker stores the report (ADR 0082)
    seen = {}
    for supervisor in ("grace", "erik"):
        caller = await sign_in(platform, supervisor)
        csv = await caller.client.get(
            "/backoffice/kpis.csv", params={"service": "open-a-restaurant"}
        )
        assert csv.status_code == 200, csv.text
        seen[supervisor] = sorted(
            {line.split(",")[2] for line in csv.text.splitlines()[1:] if line.split(",")[2]}
        )
    assert seen == {"grace": ["local-admin"], "erik": ["environment"]}


async def test_the_trace_detector_sees_what_an_accepted_upload_leaves(platform: Platform) -> None:
    # The suite's own check: a call that is let through is seen (rows, files, audit).
    world = await world_of(platform)
    task = await world.la_task()
    before = await snapshot(platform)
    upload = await world.alice.client.post(
        f"/api/v1/applications/{task['application_id']}/documents",
        data={"document_type": "floor_plan"},
        files={"file": ("Plan.pdf", samples.pdf("Plan"), "application/pdf")},
        headers={"X-CSRF-Token": world.alice.csrf},
    )
    assert upload.status_code == 201, upload.text
    seen = {
        change.split(":")[0] + ":" + change.split(":")[1]
        for change in changes(before, await snapshot(platform))
    }
    assert {"rows:documents", "files:documents"} <= seen
