"""Change requests end to end on SQLite and PostgreSQL: Sam's fee change and new field, its
diff and what-if, the owners' and the central team's approvals, publication at the effective
date, and every refusal leaving nothing written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from civicloom.catalogue import get_current_blueprint
from civicloom.demo import RESTAURANT_ANSWERS
from civicloom.governance import (
    ChangeKind,
    ChangeState,
    NotAllowed,
    approve_change,
    draft_change,
    edit_draft,
    get_change,
    publish_due_changes,
    submit_change,
)
from civicloom.kernel import Conflict, Principal
from civicloom.rules import RULE_BOOK, list_decisions
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.governance.flow import (
    FEE,
    count,
    drafted,
    person,
    start,
    submitted,
    workspace,
)

ALICE = as_persona("alice")
TAX_RULE_OWNER = Principal(
    subject="tomas",
    display_name="Tomas Berg",
    roles=frozenset({"rule-owner"}),
    department="tax",
    authenticated_by="dev-login",
)


def restaurant(seating: int) -> dict[str, Any]:
    """A valid 'Open a restaurant' submission for Golden Dragon Kitchen."""
    return {
        "service": "open-a-restaurant",
        "data": {**RESTAURANT_ANSWERS, "seating": seating},
    }


async def apply(client: httpx.AsyncClient, seating: int) -> dict[str, Any]:
    response = await client.post("/api/v1/applications", json=restaurant(seating), headers=ALICE)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_fee_change_and_a_new_field_publish_at_their_date(
    container: Container, client: httpx.AsyncClient
) -> None:
    clock = start()
    container.clock = clock  # the platform's own time moves with the test's
    running = [await apply(client, 40), await apply(client, 30), await apply(client, 12)]
    change_id = await submitted(container, clock)
    change = await get_change(container.uow(), change_id)

    assert change.state is ChangeState.SUBMITTED
    assert change.required == ("local-admin", "central")
    shown = [d.message % dict(d.params) for d in change.diff]
    assert "Form field outdoor_seats added (integer, “Outdoor seats”)" in shown
    assert "Licence fee table, row “21 to 40 seats: small band”, Fee: 400 → 500" in shown
    assert [c.name for c in change.checks] == [
        "validation",
        "model-tests",
        "what-if",
        "translations",
    ]
    assert change.checks_passed
    (whatif,) = [c for c in change.checks if c.name == "what-if"]
    assert [line % dict(p) for line, p in zip(whatif.lines, whatif.params, strict=True)] == [
        "local-admin/licence-fee: 2 of the last 3 applications would get another decision",
        "2 of the last 3 applications would pay €100 more",
    ]

    ruth, gabriel = person(container, "ruth"), person(container, "gabriel")
    await approve_change(container.uow(), clock, ruth, change_id)
    approved = await approve_change(container.uow(), clock, gabriel, change_id)
    assert approved.state is ChangeState.APPROVED
    assert [(a.party, a.approver) for a in approved.approvals] == [
        ("local-admin", "ruth"),
        ("central", "gabriel"),
    ]

    ws = workspace(container)
    assert await publish_due_changes(container.uow(), clock, ws) == 0  # not yet its date
    clock.advance(timedelta(days=7))
    assert await publish_due_changes(container.uow(), clock, ws) == 1
    assert (await get_change(container.uow(), change_id)).state is ChangeState.PUBLISHED

    async with container.uow() as uow:
        current = await get_current_blueprint(uow.session, "open-a-restaurant")
    assert current is not None
    assert current.blueprint.version == 6  # the demo is at v5 (ADR 0050), the change publishes v6
    assert "outdoor_seats" in current.blueprint.form.fields
    book = container.get(RULE_BOOK)
    assert [m.version for m in book.versions(FEE)] == [1, 2]
    assert book.resolve(FEE, clock.now().date()).version == 2
    assert book.resolve(FEE, (clock.now() - timedelta(days=8)).date()).version == 1

    # running applications keep the version they started on and the fee they were told;
    # a new application starts on the new version and pays the new fee
    after = await apply(client, 40)
    assert after["blueprint_version"] == 6
    for app in running:
        response = await client.get(f"/api/v1/applications/{app['id']}", headers=ALICE)
        assert response.json()["blueprint_version"] == 5
    assert [await fee(container, a["id"]) for a in [*running, after]] == [
        (1, 400),
        (1, 400),
        (1, 150),
        (2, 500),
    ]


async def fee(container: Container, application_id: str) -> tuple[int, int]:
    """(model version, fee) of an application's fee decision."""
    async with container.uow() as uow:
        decisions = await list_decisions(uow.session, application_id)
    (decision,) = [d for d in decisions if d.purpose == "fees"]
    return decision.version, int(decision.output["fee"])


@pytest.fixture
async def pending(container: Container, client: httpx.AsyncClient) -> str:
    await apply(client, 40)
    return await submitted(container, start())


async def test_the_author_cannot_approve_and_nothing_is_written(
    container: Container, pending: str
) -> None:
    audit, approvals = await count(container, "audit_entries"), 0
    with pytest.raises(NotAllowed, match="four-eyes"):
        await approve_change(container.uow(), start(), person(container, "sam"), pending)
    assert await count(container, "governance_change_approvals") == approvals
    assert await count(container, "audit_entries") == audit
    assert (await get_change(container.uow(), pending)).state is ChangeState.SUBMITTED


async def test_another_department_cannot_approve_a_part_it_does_not_own(
    container: Container, pending: str
) -> None:
    audit = await count(container, "audit_entries")
    with pytest.raises(NotAllowed, match="no part you approve for"):
        await approve_change(container.uow(), start(), TAX_RULE_OWNER, pending)
    # an officer of the owning department without the rule-owner role cannot either
    with pytest.raises(NotAllowed):
        await approve_change(container.uow(), start(), person(container, "olivia"), pending)
    assert await count(container, "governance_change_approvals") == 0
    assert await count(container, "audit_entries") == audit


async def test_approving_twice_is_refused(container: Container, pending: str) -> None:
    ruth = person(container, "ruth")
    await approve_change(container.uow(), start(), ruth, pending)
    audit = await count(container, "audit_entries")
    with pytest.raises(Conflict, match="already approved"):
        await approve_change(container.uow(), start(), ruth, pending)
    assert await count(container, "governance_change_approvals") == 1
    assert await count(container, "audit_entries") == audit


async def test_nothing_publishes_before_every_approval(container: Container, pending: str) -> None:
    clock = start()
    await approve_change(container.uow(), clock, person(container, "ruth"), pending)
    clock.advance(timedelta(days=30))
    assert await publish_due_changes(container.uow(), clock, workspace(container)) == 0
    assert (await get_change(container.uow(), pending)).state is ChangeState.SUBMITTED
    async with container.uow() as uow:
        current = await get_current_blueprint(uow.session, "open-a-restaurant")
    assert current is not None
    assert current.blueprint.version == 5


async def test_a_submitted_change_cannot_be_edited(container: Container, pending: str) -> None:
    sam = person(container, "sam")
    before = await get_change(container.uow(), pending)
    with pytest.raises(Conflict, match="can no longer change"):
        await edit_draft(container.uow(), start(), sam, pending, {"x.yaml": "a: 1\n"})
    assert (await get_change(container.uow(), pending)).files == before.files


async def test_only_the_author_edits_and_citizens_cannot_draft(container: Container) -> None:
    clock = start()
    change_id = await drafted(container, clock)
    ruth = person(container, "ruth")
    with pytest.raises(NotAllowed, match="only the author"):
        await edit_draft(container.uow(), clock, ruth, change_id, {"x.yaml": "a: 1\n"})
    with pytest.raises(NotAllowed, match="only the author"):
        await submit_change(
            container.uow(), clock, workspace(container), ruth, change_id, clock.now()
        )
    changes = await count(container, "governance_change_requests")
    with pytest.raises(NotAllowed):
        await draft_change(
            container.uow(),
            clock,
            workspace(container),
            person(container, "alice"),
            kind=ChangeKind.BLUEPRINT,
            target="open-a-restaurant",
            title="A citizen's change",
        )
    assert await count(container, "governance_change_requests") == changes
