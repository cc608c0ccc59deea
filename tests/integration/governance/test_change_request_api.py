"""``/api/v1/change-requests`` (ADR 0049, "API"): who must not use it first — a citizen, a
machine without the scope or of another department, a rule owner approving a part it does not
own, the author approving his own change, a replayed approval, bad bodies — each refusal leaving
no change row, approval or change audit entry; then Sam's change through the API to approval."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from civicloom.governance import get_change
from civicloom.identity import create_api_key
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.governance.flow import count, start, submitted, with_outdoor_seats

SAM, RUTH, GABRIEL = as_persona("sam"), as_persona("ruth"), as_persona("gabriel")
ALICE, OLIVIA = as_persona("alice"), as_persona("olivia")
PROBLEM = "application/problem+json"
BASE = "/api/v1/change-requests"


async def key(container: Container, department: str, scopes: list[str]) -> dict[str, str]:
    issued = await create_api_key(
        container.uow(),
        container.clock,
        name=f"{department} change tooling",
        department=department,
        scopes=scopes,
    )
    return {"Authorization": f"Bearer {issued.key}"}


async def written(container: Container) -> tuple[int, int, int]:
    """(change requests, approvals, change audit entries): what a refusal must leave alone."""
    async with container.uow() as uow:
        audited = await uow.session.scalar(
            text("SELECT count(*) FROM audit_entries WHERE action LIKE 'change.%'")
        )
    return (
        await count(container, "governance_change_requests"),
        await count(container, "governance_change_approvals"),
        int(audited or 0),
    )


def errors_of(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.headers["content-type"] == PROBLEM, response.text
    return [(e["field"], e["rule"]) for e in response.json()["errors"]]


@pytest.fixture
async def pending(container: Container) -> str:
    """Sam's fee change and new field, submitted: waits for local-admin and central."""
    clock = start()
    container.clock = clock  # the API's time is the test's
    return await submitted(container, clock)


async def test_callers_without_the_right_are_refused_and_nothing_is_written(
    container: Container, client: httpx.AsyncClient, pending: str
) -> None:
    draft = {"kind": "blueprint", "target": "open-a-restaurant", "title": "Seats"}
    before = await written(container)
    # nobody signed in; a citizen; an officer of the department without a governance role
    assert (await client.get(BASE)).status_code == 401
    assert (await client.post(BASE, json=draft)).status_code == 401
    for person in (ALICE, OLIVIA):
        assert (await client.get(BASE, headers=person)).status_code == 403
        assert (await client.post(BASE, json=draft, headers=person)).status_code == 403
        approve = await client.post(
            f"{BASE}/{pending}/approvals", json={"decision": "approve"}, headers=person
        )
        assert approve.status_code == 403
    # machines: no scope writes, whatever it holds; without changes:read it reads nothing
    full = await key(container, "local-admin", ["changes:read", "kpis:read"])
    without = await key(container, "local-admin", ["kpis:read"])
    other = await key(container, "environment", ["changes:read"])
    assert (await client.get(BASE, headers=without)).status_code == 403
    assert (await client.post(BASE, json=draft, headers=full)).status_code == 403
    approve = await client.post(
        f"{BASE}/{pending}/approvals", json={"decision": "approve"}, headers=full
    )
    assert approve.status_code == 403
    # another department's system: the change is none of its business (404, and not listed)
    assert (await client.get(f"{BASE}/{pending}", headers=other)).status_code == 404
    assert (await client.get(BASE, headers=other)).json() == []
    # its own department's system reads it, with the diff
    mine = await client.get(f"{BASE}/{pending}", headers=full)
    assert mine.status_code == 200
    assert mine.json()["required"] == ["local-admin", "central"]
    assert "Form field outdoor_seats added (integer, “Outdoor seats”)" in [
        d["text"] for d in mine.json()["diff"]
    ]
    assert [c["id"] for c in (await client.get(BASE, headers=full)).json()] == [pending]
    # the author cannot approve (four-eyes) nor decline his own change
    own = await client.post(
        f"{BASE}/{pending}/approvals", json={"decision": "approve"}, headers=SAM
    )
    assert own.status_code == 403
    assert "four-eyes" in own.json()["detail"]
    declined = await client.post(
        f"{BASE}/{pending}/approvals",
        json={"decision": "decline", "reason": "Mine."},
        headers=SAM,
    )
    assert declined.status_code == 403
    # nobody but the author withdraws it
    gone = await client.post(f"{BASE}/{pending}/withdrawal", json={"reason": "No."}, headers=RUTH)
    assert gone.status_code == 403
    assert await written(container) == before
    assert (await get_change(container.uow(), pending)).state.value == "submitted"


async def test_a_rule_owner_cannot_approve_a_part_it_does_not_own(
    container: Container, client: httpx.AsyncClient
) -> None:
    # a common template is the central team's alone: local-admin's rule owner approves nothing
    made = await client.post(
        BASE,
        json={"kind": "template", "target": "common/approved", "title": "Friendlier approval"},
        headers=SAM,
    )
    assert made.status_code == 201, made.text
    change_id = made.json()["id"]
    files = {
        path: "Subject: Approved: {{ reference }}\n\nGood news: it is approved.\n"
        if path.endswith(".en.j2")
        else "主题：已批准：{{ reference }}\n\n好消息：已获批准。\n"
        for path in made.json()["files"]
    }
    edited = await client.put(f"{BASE}/{change_id}/files", json={"files": files}, headers=SAM)
    assert edited.status_code == 200, edited.text
    effective = (container.clock.now() + timedelta(days=3)).isoformat()
    sent = await client.post(
        f"{BASE}/{change_id}/submission", json={"effective_at": effective}, headers=SAM
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["required"] == ["central"]
    before = await written(container)
    refused = await client.post(
        f"{BASE}/{change_id}/approvals", json={"decision": "approve"}, headers=RUTH
    )
    assert refused.status_code == 403
    assert refused.json()["detail"] == "this change touches no part you approve for"
    declined = await client.post(
        f"{BASE}/{change_id}/approvals",
        json={"decision": "decline", "reason": "Not ours."},
        headers=RUTH,
    )
    assert declined.status_code == 403
    assert await written(container) == before


async def test_a_replayed_approval_is_refused(
    container: Container, client: httpx.AsyncClient, pending: str
) -> None:
    first = await client.post(
        f"{BASE}/{pending}/approvals", json={"decision": "approve"}, headers=RUTH
    )
    assert first.status_code == 201, first.text
    assert first.json()["missing"] == ["central"]
    before = await written(container)
    again = await client.post(
        f"{BASE}/{pending}/approvals", json={"decision": "approve"}, headers=RUTH
    )
    assert again.status_code == 409
    assert again.json()["detail"] == "you have already approved this change"
    assert await written(container) == before


BAD_BODIES: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = [
    ("", {"kind": "blueprint", "target": "open-a-restaurant"}, [("title", "missing")]),
    ("", {"kind": "recipe", "target": "x", "title": "T"}, [("kind", "enum")]),
    (
        "",
        {"kind": "blueprint", "target": "../../etc", "title": "T"},
        [("target", "string_pattern_mismatch")],
    ),
    ("", {"kind": "blueprint", "target": "no-such-service", "title": "T"}, [("target", "exists")]),
    (
        "",
        {"kind": "blueprint", "target": "open-a-restaurant", "title": "T", "x": 1},
        [("x", "extra_forbidden")],
    ),
    ("/{id}/approvals", {"decision": "maybe"}, [("decision", "literal_error")]),
    ("/{id}/approvals", {"decision": "decline"}, [("reason", "required")]),
    ("/{id}/approvals", {"decision": "approve", "reason": "Fine."}, [("reason", "absent")]),
    (
        "/{id}/submission",
        {"effective_at": "2027-01-01T00:00:00"},
        [("effective_at", "timezone_aware")],
    ),
]


async def test_bad_bodies_name_the_field_and_rule(
    container: Container, client: httpx.AsyncClient, pending: str
) -> None:
    before = await written(container)
    for path, body, expected in BAD_BODIES:
        caller = SAM if path == "" else RUTH  # Sam drafts; Ruth approves for local-admin
        response = await client.post(
            BASE + path.replace("{id}", pending), json=body, headers=caller
        )
        assert response.status_code == 422, (path, body, response.text)
        assert errors_of(response) == expected, (path, body)
    assert await written(container) == before


async def test_bad_draft_edits_and_a_past_date_are_refused(
    container: Container, client: httpx.AsyncClient
) -> None:
    made = await client.post(
        BASE, json={"kind": "blueprint", "target": "open-a-restaurant", "title": "T"}, headers=SAM
    )
    change_id = made.json()["id"]
    before = await written(container)
    unknown = await client.put(
        f"{BASE}/{change_id}/files", json={"files": {"secrets.yaml": "x: 1\n"}}, headers=SAM
    )
    assert errors_of(unknown) == [("files.secrets.yaml", "exists")]
    foreign = await client.put(
        f"{BASE}/{change_id}/files",
        json={"files": {"services/open-a-restaurant/blueprint.yaml": "id: x\n"}},
        headers=RUTH,
    )
    assert foreign.status_code == 403
    past = (container.clock.now() - timedelta(days=1)).isoformat()
    late = await client.post(
        f"{BASE}/{change_id}/submission", json={"effective_at": past}, headers=SAM
    )
    assert errors_of(late) == [("effective_at", "future")]
    assert await written(container) == before


async def test_sams_change_through_the_api_to_approval(
    container: Container, client: httpx.AsyncClient
) -> None:
    container.clock = start()
    made = await client.post(
        BASE,
        json={"kind": "blueprint", "target": "open-a-restaurant", "title": "Outdoor seats"},
        headers=SAM,
    )
    assert made.status_code == 201, made.text
    change_id = made.json()["id"]
    assert made.headers["location"] == f"{BASE}/{change_id}"
    assert made.json()["state"] == "draft"
    # the client edits the files it was given and sends them back
    files = with_outdoor_seats(made.json()["files"])
    edited = await client.put(f"{BASE}/{change_id}/files", json={"files": files}, headers=SAM)
    assert edited.status_code == 200, edited.text
    assert "Form field outdoor_seats added (integer, “Outdoor seats”)" in [
        d["text"] for d in edited.json()["diff"]
    ]
    effective = (container.clock.now() + timedelta(days=7)).isoformat()
    sent = await client.post(
        f"{BASE}/{change_id}/submission", json={"effective_at": effective}, headers=SAM
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["state"] == "submitted"
    assert sent.json()["required"] == ["local-admin", "central"]
    read = await client.get(f"{BASE}/{change_id}", headers=GABRIEL)
    assert [(c["name"], c["passed"]) for c in read.json()["checks"]] == [
        ("validation", True),
        ("model-tests", True),
        ("what-if", True),
        ("translations", True),
    ]
    ruth = await client.post(
        f"{BASE}/{change_id}/approvals", json={"decision": "approve"}, headers=RUTH
    )
    assert ruth.status_code == 201
    assert ruth.json()["missing"] == ["central"]
    done = await client.post(
        f"{BASE}/{change_id}/approvals", json={"decision": "approve"}, headers=GABRIEL
    )
    assert done.status_code == 201
    assert done.json()["state"] == "approved"
    assert [(a["party"], a["approver"]) for a in done.json()["approvals"]] == [
        ("local-admin", "ruth"),
        ("central", "gabriel"),
    ]
    listed = await client.get(f"{BASE}?state=approved", headers=SAM)
    assert [c["id"] for c in listed.json()] == [change_id]
    async with container.uow() as uow:
        actions = list(
            await uow.session.scalars(
                text("SELECT action FROM audit_entries WHERE action LIKE 'change.%' ORDER BY seq")
            )
        )
    assert actions == [
        "change.drafted",
        "change.edited",
        "change.submitted",
        "change.approved",
        "change.approved",
    ]


async def test_an_approver_declines_and_the_author_withdraws(
    container: Container, client: httpx.AsyncClient, pending: str
) -> None:
    declined = await client.post(
        f"{BASE}/{pending}/approvals",
        json={"decision": "decline", "reason": "The fee rise needs the council's vote first."},
        headers=GABRIEL,
    )
    assert declined.status_code == 201, declined.text
    assert declined.json()["state"] == "withdrawn"
    made = await client.post(
        BASE, json={"kind": "blueprint", "target": "open-a-restaurant", "title": "T"}, headers=SAM
    )
    gone = await client.post(f"{BASE}/{made.json()['id']}/withdrawal", json={}, headers=SAM)
    assert gone.status_code == 200
    assert gone.json()["state"] == "withdrawn"
