"""Promotion between environments (ADR 0052): two deployments with two databases in one test.

"test" runs on its own SQLite file; "production" on a second SQLite file or on PostgreSQL (the
``backend`` fixture). A change to local-admin's data-sharing agreement is drafted, checked and
approved in test, exported as a signed bundle and imported into production, where its checks
run again and it waits for production's own approvals. A bundle with one byte changed, one
signed by an unknown key, one from an untrusted or the same environment, a replay and an
out-of-order bundle are each refused and leave no row in production.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from civicloom.audit import AuditAction, Keyring, generate_key
from civicloom.governance import (
    ChangeKind,
    ChangeState,
    NotAllowed,
    approve_change,
    draft_change,
    edit_draft,
    get_change,
    submit_change,
)
from civicloom.governance.bundle_domain import BundleRefused, Refusal
from civicloom.governance.bundles import (
    ExportedBundle,
    ImportedBundle,
    export_bundle,
    exported_copy,
    import_bundle,
    trusted_keys,
)
from civicloom.kernel import Conflict, FixedClock
from tests.integration.bundles.world import (
    AGREEMENT,
    CARLA,
    NOW,
    OPERATOR,
    RITA,
    SAM,
    Deployment,
    approved_in,
    deployment,
    files,
    read,
    remove,
    write,
)


@pytest.fixture
async def world(
    database_url: str, sqlite_template: Path, tmp_path: Path
) -> AsyncIterator[tuple[Deployment, Deployment]]:
    """(test, production): production trusts test's published keys, nothing else."""
    test_db = tmp_path / "test-env.db"
    shutil.copy(sqlite_template, test_db)
    test = deployment("test", f"sqlite+aiosqlite:///{test_db}", tmp_path / "test", {})
    jwks = tmp_path / "test.jwks.json"
    write(jwks, json.dumps(test.keyring.public.to_jwks()))
    production = deployment("production", database_url, tmp_path / "prod", {"test": jwks})
    yield test, production
    for d in (test, production):
        await d.container.close()
        await d.container.database.dispose()


async def export(test: Deployment, change_id: str, out: Path) -> ExportedBundle:
    return await export_bundle(
        test.container.uow(),
        test.keyring,
        environment="test",
        change_ids=[change_id],
        out=out,
        actor=OPERATOR.audit_name,
        now=NOW,
    )


async def import_into(target: Deployment, bundle: Path) -> ImportedBundle:
    return await import_bundle(
        target.container.uow(),
        read(bundle),
        environment=target.name,
        trusted=trusted_keys(target.container.settings.bundle_trusted_sources),
        actor=OPERATOR,
        clock=FixedClock(NOW + timedelta(hours=1)),
        ws=target.ws,
    )


async def refused(target: Deployment, bundle: Path) -> BundleRefused:
    before = await target.counts()
    with pytest.raises(BundleRefused) as caught:
        await import_into(target, bundle)
    assert await target.counts() == before, "a refused bundle left rows behind"
    return caught.value


async def test_exported_from_test_it_waits_for_production_approvals(
    world: tuple[Deployment, Deployment], tmp_path: Path
) -> None:
    test, production = world
    change_id = await approved_in(test)
    done = await export(test, change_id, tmp_path / "fee.bundle")
    assert (done.sequence, done.change_ids) == (1, (change_id,))
    original = read(tmp_path / "fee.bundle")
    assert original.count(".") == 2
    assert original.endswith("\n")
    assert files(tmp_path, ".*partial") == []

    # one byte changed in the middle of the file: refused, nothing written in production
    middle = len(original) // 2
    flipped = "A" if original[middle] != "A" else "B"
    write(tmp_path / "tampered.bundle", original[:middle] + flipped + original[middle + 1 :])
    tampered = await refused(production, tmp_path / "tampered.bundle")
    assert tampered.reason is Refusal.TAMPERED
    assert "the bundle was changed after it was signed" in str(tampered)

    imported = await import_into(production, tmp_path / "fee.bundle")
    (local_id,) = imported.local_change_ids
    assert local_id != change_id
    here = await get_change(production.container.uow(), local_id)
    source = await get_change(test.container.uow(), change_id)
    assert here.state is ChangeState.SUBMITTED
    assert (here.source_environment, here.bundle_id) == ("test", done.bundle_id)
    assert here.files == source.files
    assert here.effective_at == source.effective_at == NOW + timedelta(days=7)
    assert [c.name for c in here.checks] == [c.name for c in source.checks]
    assert here.checks_passed
    assert here.approvals == ()
    assert here.missing == ("local-admin", "central")
    with pytest.raises(NotAllowed):  # the operator who imported it is its author here
        await approve_change(production.container.uow(), FixedClock(NOW), OPERATOR, local_id)

    async with production.container.uow() as uow:
        actions = list(
            await uow.session.scalars(text("SELECT action FROM audit_entries ORDER BY seq"))
        )
        rows = (
            await uow.session.execute(
                text("SELECT direction, environment, sequence FROM governance_bundles")
            )
        ).all()
    assert actions == [AuditAction.CHANGE_IMPORTED.value, AuditAction.BUNDLE_IMPORTED.value]
    assert [tuple(r) for r in rows] == [("import", "test", 1)]
    async with test.container.uow() as uow:
        exported = await uow.session.scalar(
            text("SELECT count(*) FROM audit_entries WHERE action = 'bundle.exported'")
        )
    assert exported == 1

    replay = await refused(production, tmp_path / "fee.bundle")
    assert replay.reason is Refusal.REPLAY
    assert replay.message.startswith("bundle 1 from test was imported already on 2026-12-07 10:00")


async def test_order_signer_and_environment_are_enforced(
    world: tuple[Deployment, Deployment], tmp_path: Path
) -> None:
    test, production = world
    change_id = await approved_in(test)
    for sequence in (1, 2):
        done = await export(test, change_id, tmp_path / f"{sequence}.bundle")
        assert done.sequence == sequence

    _, signed = await exported_copy(test.container.uow(), "test", 1)
    assert signed == read(tmp_path / "1.bundle")  # a lost file is written again, byte for byte

    gap = await refused(production, tmp_path / "2.bundle")
    assert gap.reason is Refusal.OUT_OF_ORDER
    assert gap.message == "bundle 2 from test is out of order: import bundle 1 first"

    own = await refused(test, tmp_path / "1.bundle")
    assert own.reason is Refusal.OWN_ENVIRONMENT

    # the same changes signed by a key production does not know, claiming to be test
    generate_key(tmp_path / "intruder")
    forged = await export_bundle(
        test.container.uow(),
        Keyring.load(tmp_path / "intruder"),
        environment="test",
        change_ids=[change_id],
        out=tmp_path / "forged.bundle",
        actor=OPERATOR.audit_name,
        now=NOW,
    )
    assert forged.sequence == 3
    unknown = await refused(production, tmp_path / "forged.bundle")
    assert unknown.reason is Refusal.UNKNOWN_SIGNER

    staging = await export_bundle(
        test.container.uow(),
        test.keyring,
        environment="staging",
        change_ids=[change_id],
        out=tmp_path / "staging.bundle",
        actor=OPERATOR.audit_name,
        now=NOW,
    )
    assert staging.sequence == 1  # every source environment counts on its own
    untrusted = await refused(production, tmp_path / "staging.bundle")
    assert untrusted.reason is Refusal.UNTRUSTED_SOURCE

    await import_into(production, tmp_path / "1.bundle")
    await import_into(production, tmp_path / "2.bundle")
    async with production.container.uow() as uow:
        queued = await uow.session.scalar(text("SELECT count(*) FROM governance_change_requests"))
    assert queued == 2


async def test_only_approved_changes_are_exported(
    world: tuple[Deployment, Deployment], tmp_path: Path
) -> None:
    test, _ = world
    draft = await draft_change(
        test.container.uow(),
        FixedClock(NOW),
        test.ws,
        SAM,
        kind=ChangeKind.AGREEMENT,
        target=AGREEMENT,
        title="Not approved yet",
    )
    before = await test.counts()
    with pytest.raises(Conflict) as caught:
        await export(test, draft, tmp_path / "draft.bundle")
    assert caught.value.detail == f"change request {draft} is draft, not approved"
    assert await test.counts() == before
    assert files(tmp_path, "*bundle*") == []


async def test_a_bundle_is_imported_whole_or_not_at_all(
    world: tuple[Deployment, Deployment], tmp_path: Path
) -> None:
    """Two changes in one bundle; the second's agreement is not published in production yet:
    the whole bundle is refused, the first change is not queued either, and once production
    has the agreement the same bundle imports both."""
    test, production = world
    first = await approved_in(test)
    second = await approved_in(test, "DSA-2025-103")
    done = await export_bundle(
        test.container.uow(),
        test.keyring,
        environment="test",
        change_ids=[first, second],
        out=tmp_path / "both.bundle",
        actor=OPERATOR.audit_name,
        now=NOW,
    )
    assert done.change_ids == (first, second)
    published = production.ws.blueprints_dir / "agreements/DSA-2025-103.yaml"
    kept = read(published)
    remove(published)

    missing = await refused(production, tmp_path / "both.bundle")
    assert missing.reason is Refusal.CHANGE_REFUSED
    assert missing.message == (
        f"change {second} (Cite the 2026 amendment) cannot be queued here: "
        "no agreement 'DSA-2025-103'"
    )

    write(published, kept)
    imported = await import_into(production, tmp_path / "both.bundle")
    assert imported.sequence == 1
    assert len(imported.local_change_ids) == 2


async def test_two_operators_importing_the_same_bundle_at_once_queue_it_once(
    world: tuple[Deployment, Deployment], tmp_path: Path
) -> None:
    test, production = world
    await export(test, await approved_in(test), tmp_path / "1.bundle")
    before = await production.counts()

    outcomes = await asyncio.gather(
        import_into(production, tmp_path / "1.bundle"),
        import_into(production, tmp_path / "1.bundle"),
        return_exceptions=True,
    )

    done = [o for o in outcomes if isinstance(o, ImportedBundle)]
    lost = [o for o in outcomes if isinstance(o, BundleRefused)]
    assert (len(done), len(lost)) == (1, 1), outcomes
    assert lost[0].reason is Refusal.REPLAY
    after = await production.counts()
    assert after["governance_bundles"] == before["governance_bundles"] + 1
    assert after["governance_change_requests"] == before["governance_change_requests"] + 1


async def test_two_exports_at_once_take_two_sequences_or_one_is_refused(
    world: tuple[Deployment, Deployment], tmp_path: Path
) -> None:
    test, _ = world
    change_id = await approved_in(test)
    outcomes = await asyncio.gather(
        export(test, change_id, tmp_path / "a.bundle"),
        export(test, change_id, tmp_path / "b.bundle"),
        return_exceptions=True,
    )
    done = sorted(o.sequence for o in outcomes if isinstance(o, ExportedBundle))
    lost = [o for o in outcomes if isinstance(o, Conflict)]
    assert done in ([1, 2], [1]), outcomes
    assert len(done) + len(lost) == 2, outcomes
    assert files(tmp_path, ".*partial") == []
    async with test.container.uow() as uow:
        sequences = list(
            await uow.session.scalars(text("SELECT sequence FROM governance_bundles ORDER BY 1"))
        )
    assert sequences == done


async def test_an_imported_template_waits_for_the_department_owning_its_service(
    world: tuple[Deployment, Deployment], tmp_path: Path
) -> None:
    """The operator importing a bundle has no department: a service's template still needs
    the approval of the department owning the service, not only the central team's."""
    test, production = world
    clock = FixedClock(NOW)
    uow = test.container.uow
    change_id = await draft_change(
        uow(),
        clock,
        test.ws,
        SAM,
        kind=ChangeKind.TEMPLATE,
        target="open-a-restaurant/submitted",
        title="Say which departments check the application",
    )
    draft = await get_change(uow(), change_id)
    edited = {
        rel: text.replace(
            "Four departments", "Local Administration and three other departments"
        ).replace("四个部门", "地方行政局和另外三个部门")
        for rel, text in draft.files.items()
    }
    assert edited != dict(draft.files)
    await edit_draft(uow(), clock, SAM, change_id, edited)
    submitted = await submit_change(uow(), clock, test.ws, SAM, change_id, NOW + timedelta(days=7))
    assert submitted.required == ("local-admin", "central")
    await approve_change(uow(), clock, RITA, change_id)
    await approve_change(uow(), clock, CARLA, change_id)
    await export(test, change_id, tmp_path / "template.bundle")

    imported = await import_into(production, tmp_path / "template.bundle")
    (local_id,) = imported.local_change_ids
    here = await get_change(production.container.uow(), local_id)
    assert (here.author_department, here.missing) == (None, ("local-admin", "central"))
