"""The interface the signed bundles use (ADR 0049): an approved change read back with its
files and approvals, and imported into an environment, where every check runs again and the
change waits for that environment's own approvals; a change failing a check here is refused
with nothing written."""

from __future__ import annotations

import json

import pytest

from civicloom.governance import (
    ChangeState,
    NotAllowed,
    approve_change,
    get_change,
    list_approved_changes,
    submit_imported_change,
)
from civicloom.kernel import Conflict, ValidationFailed
from civicloom.runtime import Container
from tests.integration.governance.flow import count, person, start, submitted, workspace


async def test_an_approved_change_travels_and_waits_for_approvals_here(
    container: Container,
) -> None:
    clock = start()
    change_id = await submitted(container, clock)
    with pytest.raises(Conflict, match="not approved"):
        await list_approved_changes(container.uow(), [change_id])
    await approve_change(container.uow(), clock, person(container, "ruth"), change_id)
    await approve_change(container.uow(), clock, person(container, "gabriel"), change_id)

    (carried,) = await list_approved_changes(container.uow(), [change_id])
    assert carried.kind == "blueprint"
    assert carried.target == "open-a-restaurant"
    assert sorted(carried.files) == [
        "rules/local-admin/licence-fee/v2.json",
        "rules/local-admin/licence-fee/v2.tests.yaml",
        "services/open-a-restaurant/blueprint.yaml",
    ]
    assert carried.approvals == (("local-admin", "ruth"), ("central", "gabriel"))

    priya = person(container, "priya")
    imported_id = await submit_imported_change(
        container.uow(),
        kind=carried.kind,
        target=carried.target,
        title=carried.title,
        files=carried.files,
        source_environment="test",
        bundle_id="bundle-1",
        actor=priya,
        clock=clock,
        ws=workspace(container),
    )
    imported = await get_change(container.uow(), imported_id)
    assert imported.state is ChangeState.SUBMITTED
    assert imported.required == ("local-admin", "central")
    assert imported.approvals == ()
    assert imported.checks_passed
    assert (imported.source_environment, imported.bundle_id) == ("test", "bundle-1")
    with pytest.raises(NotAllowed, match="four-eyes"):
        await approve_change(container.uow(), clock, priya, imported_id)


async def test_an_import_failing_its_checks_here_is_refused(container: Container) -> None:
    clock = start()
    change_id = await submitted(container, clock)
    files = dict((await get_change(container.uow(), change_id)).files)
    model = json.loads(files["rules/local-admin/licence-fee/v2.json"])
    for node in model["nodes"]:
        for row in (node.get("content") or {}).get("rules") or []:
            if row.get("_id") == "small":
                row["out_fee"] = "450"  # the carried test cases still expect 500
    files["rules/local-admin/licence-fee/v2.json"] = json.dumps(model)
    changes, audit = (
        await count(container, "governance_change_requests"),
        await count(container, "audit_entries"),
    )
    with pytest.raises(ValidationFailed, match="fails 1 check"):
        await submit_imported_change(
            container.uow(),
            kind="blueprint",
            target="open-a-restaurant",
            title="Tampered on the way",
            files=files,
            source_environment="test",
            bundle_id="bundle-2",
            actor=person(container, "priya"),
            clock=clock,
            ws=workspace(container),
        )
    assert await count(container, "governance_change_requests") == changes
    assert await count(container, "audit_entries") == audit
