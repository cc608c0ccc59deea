"""Who may claim, decide, take over and assign a task (issue 16, officer work).

Every expected status below is written by hand: persona x relationship to the task -> status.
The licensing review of Open a restaurant is a ``local-admin`` step with ``role:
licensing-officer``; the local-admin staff in the personas file are Olivia and Nora
(licensing officers), Felix (an officer without that role) and Grace (supervisor and
licensing officer). Every refusal is checked to leave the task, the audit trail, the timeline
and the outbox exactly as they were.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from civicloom.applications import StepRunner
from civicloom.applications.tables import TaskRow, TimelineRow
from civicloom.audit.tables import AuditEntryRow
from civicloom.outbox.tables import OutboxRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.world import drain, submit, task_of

PROBLEM = "application/problem+json"

# Deciding a licensing review that Olivia has claimed.
DECIDE_A_TASK_OLIVIA_HOLDS = [
    ("nora", 409),  # a colleague with the step's role: not hers
    ("felix", 403),  # same department, no licensing-officer role
    ("grace", 409),  # a supervisor decides only after taking it over
    ("elena", 404),  # another department's officer
    ("tariq", 404),
    ("lars", 404),
    ("sam", 403),  # service owner, not an officer
    ("priya", 403),
    ("ada", 403),
    ("alice", 403),
    ("olivia", 200),  # the holder
]

# Claiming a licensing review that Olivia holds.
CLAIM_A_TASK_OLIVIA_HOLDS = [
    ("nora", 409),
    ("felix", 403),
    ("elena", 404),
    ("grace", 200),  # a supervisor with the step's role takes it over (audited)
]

# Grace assigns an open licensing review to ...
ASSIGN_TO = [
    ("elena", 422),  # an officer of another department
    ("mallory", 422),  # nobody
    ("sam", 422),  # local-admin's service owner: not staff of the queue
    ("felix", 422),  # local-admin staff without the step's role
    ("nora", 200),
]


async def _snapshot(container: Container, app_id: str, task_id: str) -> dict[str, Any]:
    """Everything a refused action must leave alone."""
    async with container.uow() as uow:
        s = uow.session
        task = await s.get(TaskRow, task_id)
        assert task is not None
        return {
            "task": (task.state, task.assignee, task.output, task.updated_at),
            "audit": await s.scalar(
                select(func.count())
                .select_from(AuditEntryRow)
                .where(AuditEntryRow.subject_id == app_id)
            ),
            "timeline": await s.scalar(
                select(func.count())
                .select_from(TimelineRow)
                .where(TimelineRow.application_id == app_id)
            ),
            "outbox": await s.scalar(select(func.count()).select_from(OutboxRow)),
        }


async def _actions(container: Container, app_id: str) -> list[tuple[str, dict[str, Any]]]:
    async with container.uow() as uow:
        rows = await uow.session.execute(
            select(AuditEntryRow.action, AuditEntryRow.details)
            .where(AuditEntryRow.subject_id == app_id)
            .order_by(AuditEntryRow.position)
        )
        return [(action, dict(details or {})) for action, details in rows]


async def _licensing_review(container: Container, runner: StepRunner, key: str) -> tuple[str, str]:
    app_id = await submit(container, key)
    await drain(runner)
    task = await task_of(container, app_id, "licensing_review")
    assert task.state == "awaiting_officer"
    assert task.assignee is None
    return app_id, task.id


async def test_a_claimed_task_is_decided_only_by_its_holder(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id, task_id = await _licensing_review(container, runner, "holder-1")
    claimed = await client.post(f"/api/v1/tasks/{task_id}/claim", headers=as_persona("olivia"))
    assert claimed.status_code == 200, claimed.text

    for persona, want in DECIDE_A_TASK_OLIVIA_HOLDS:
        before = await _snapshot(container, app_id, task_id)
        got = await client.post(
            f"/api/v1/tasks/{task_id}/decision",
            json={"decision": "approve"},
            headers=as_persona(persona),
        )
        assert got.status_code == want, f"{persona}: {got.status_code} {got.text}"
        if want != 200:
            assert got.headers["content-type"].startswith(PROBLEM), persona
            assert await _snapshot(container, app_id, task_id) == before, persona
    task = await task_of(container, app_id, "licensing_review")
    assert (task.state, task.assignee) == ("completed", "olivia")
    assert (task.output or {}).get("by") == "olivia"


async def test_the_steps_role_is_required_to_claim_decide_or_ask(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id, task_id = await _licensing_review(container, runner, "role-1")
    felix = as_persona("felix")
    before = await _snapshot(container, app_id, task_id)
    attempts = [
        ("claim", None, 403),
        ("decision", {"decision": "approve"}, 403),
        ("decision", {"decision": "reject", "reason": "No."}, 403),
        ("information-requests", {"message": "Send the lease"}, 403),
    ]
    for action, body, want in attempts:
        got = await client.post(f"/api/v1/tasks/{task_id}/{action}", json=body, headers=felix)
        assert got.status_code == want, f"{action}: {got.text}"
        assert got.headers["content-type"].startswith(PROBLEM)
        assert "licensing-officer" in got.json()["detail"]
    assert await _snapshot(container, app_id, task_id) == before
    # He may still read the task and keep notes: he is staff of the department.
    assert (await client.get(f"/api/v1/tasks/{task_id}", headers=felix)).status_code == 200

    page = await client.get(f"/backoffice/tasks/{task_id}", headers=felix)
    assert page.status_code == 200
    assert 'id="not-yours"' in page.text
    assert 'id="decision-form"' not in page.text
    assert "Claim this task" not in page.text
    refused = await client.post(
        f"/backoffice/tasks/{task_id}/decision", data={"decision": "approve"}, headers=felix
    )
    assert refused.status_code == 403
    assert (await task_of(container, app_id, "licensing_review")).state == "awaiting_officer"


async def test_a_supervisor_takes_over_and_the_take_over_is_audited(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id, task_id = await _licensing_review(container, runner, "takeover-1")
    assert (
        await client.post(f"/api/v1/tasks/{task_id}/claim", headers=as_persona("olivia"))
    ).status_code == 200
    page = await client.get(f"/backoffice/tasks/{task_id}", headers=as_persona("grace"))
    assert 'id="take-over"' in page.text
    assert 'id="decision-form"' not in page.text  # not hers until she takes it over

    for persona, want in CLAIM_A_TASK_OLIVIA_HOLDS:
        before = await _snapshot(container, app_id, task_id)
        got = await client.post(f"/api/v1/tasks/{task_id}/claim", headers=as_persona(persona))
        assert got.status_code == want, f"{persona}: {got.text}"
        if want != 200:
            assert await _snapshot(container, app_id, task_id) == before, persona
    assert (await task_of(container, app_id, "licensing_review")).assignee == "grace"
    took = [d for a, d in await _actions(container, app_id) if a == "task.taken_over"]
    assert took == [{"task": task_id, "from": "olivia", "to": "grace"}]

    late = await client.post(
        f"/api/v1/tasks/{task_id}/decision",
        json={"decision": "approve"},
        headers=as_persona("olivia"),
    )
    assert late.status_code == 409
    decided = await client.post(
        f"/api/v1/tasks/{task_id}/decision",
        json={"decision": "approve"},
        headers=as_persona("grace"),
    )
    assert decided.status_code == 200, decided.text
    assert (await task_of(container, app_id, "licensing_review")).assignee == "grace"


async def test_assignees_are_staff_of_the_department_with_the_steps_role(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id, task_id = await _licensing_review(container, runner, "assign-1")
    grace = as_persona("grace")
    for assignee, want in ASSIGN_TO:
        before = await _snapshot(container, app_id, task_id)
        got = await client.post(
            f"/api/v1/tasks/{task_id}/assignment", json={"assignee": assignee}, headers=grace
        )
        assert got.status_code == want, f"{assignee}: {got.text}"
        if want == 422:
            assert got.headers["content-type"].startswith(PROBLEM)
            assert [e["field"] for e in got.json()["errors"]] == ["assignee"], assignee
            assert await _snapshot(container, app_id, task_id) == before, assignee
    assert (await task_of(container, app_id, "licensing_review")).assignee == "nora"
    by_officer = await client.post(
        f"/api/v1/tasks/{task_id}/assignment",
        json={"assignee": "olivia"},
        headers=as_persona("olivia"),
    )
    assert by_officer.status_code == 403

    done = await client.post(
        f"/api/v1/tasks/{task_id}/decision",
        json={"decision": "approve"},
        headers=as_persona("nora"),
    )
    assert done.status_code == 200, done.text
    before = await _snapshot(container, app_id, task_id)
    for persona, action, body in (
        ("grace", "assignment", {"assignee": "olivia"}),
        ("olivia", "claim", None),
    ):
        late = await client.post(
            f"/api/v1/tasks/{task_id}/{action}", json=body, headers=as_persona(persona)
        )
        assert late.status_code == 409, f"{persona} {action}: {late.text}"
        assert late.headers["content-type"].startswith(PROBLEM)
        assert "completed" in late.json()["detail"]
    assert await _snapshot(container, app_id, task_id) == before
    assert (await task_of(container, app_id, "licensing_review")).assignee == "nora"


async def test_the_assignment_page_explains_a_refused_assignee(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id, task_id = await _licensing_review(container, runner, "assign-page-1")
    grace = as_persona("grace")
    page = await client.get(f"/backoffice/tasks/{task_id}", headers=grace)
    options = page.text.split('id="assignee-select"', 1)[1].split("</select>", 1)[0]
    assert 'value="nora"' in options
    assert 'value="felix"' not in options  # not a licensing officer
    assert 'value="elena"' not in options
    refused = await client.post(
        f"/backoffice/tasks/{task_id}/assignment", data={"assignee": "elena"}, headers=grace
    )
    assert refused.status_code == 422
    assert 'href="#assignee"' in refused.text
    assert 'id="assignee-error"' in refused.text
    assert (await task_of(container, app_id, "licensing_review")).assignee is None


async def test_a_decision_without_a_claim_records_the_decider(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id, task_id = await _licensing_review(container, runner, "unclaimed-1")
    olivia = as_persona("olivia")
    decided = await client.post(
        f"/backoffice/tasks/{task_id}/decision", data={"decision": "approve"}, headers=olivia
    )
    assert decided.status_code == 303, decided.text
    assert (await task_of(container, app_id, "licensing_review")).assignee == "olivia"
    api = await client.get(f"/api/v1/tasks/{task_id}", headers=olivia)
    assert api.json()["assignee"] == "olivia"
    page = await client.get(f"/backoffice/tasks/{task_id}", headers=olivia)
    assignee = page.text.split('id="assignee">', 1)[1].split("</dd>", 1)[0]
    assert assignee == "Olivia Grant"  # her name from the directory, not her id
    assert "Nobody" not in assignee


async def test_a_refused_page_action_on_a_held_task_reads_and_records_nothing(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    # The page used to answer a 409 by re-rendering the task: the applicant's data in a
    # refusal and an audited read that the refused action had not asked for.
    app_id, task_id = await _licensing_review(container, runner, "page-409")
    claimed = await client.post(f"/api/v1/tasks/{task_id}/claim", headers=as_persona("olivia"))
    assert claimed.status_code == 200
    before = await _snapshot(container, app_id, task_id)
    for persona in ("nora", "grace"):
        for action in ("release", "decision"):
            got = await client.post(
                f"/backoffice/tasks/{task_id}/{action}",
                data={"decision": "approve"},
                headers={**as_persona(persona), "Accept": "text/html"},
            )
            assert got.status_code == 409, f"{persona} {action}: {got.status_code}"
            assert "You cannot do that now" in got.text
            assert "Golden Dragon" not in got.text
            assert "Alice" not in got.text
            assert await _snapshot(container, app_id, task_id) == before, (persona, action)
