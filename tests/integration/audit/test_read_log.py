"""Reads of personal data recorded by one small insert and folded into the chains by the worker
(issue 23, ADR 0073).

A status read writes one row to ``audit_read_log`` and takes no lock; a read that fails leaves
nothing; the fold turns the rows into chain entries once (in batches, twice run, two folders at
once, a folder whose connection dies mid-fold), and every reader of the trail shows a read
before it is folded, to whom it may and not to anyone else. Expected values are written by hand.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from civicloom.applications import application_status
from civicloom.audit import (
    AuditAction,
    AuditFilter,
    AuditRecord,
    append_audit,
    data_use_for_subject,
    export_audit,
    fold_pending_reads,
    fold_reads,
    record_read,
    search_entries,
    subject_history,
    verify_audit,
)
from civicloom.audit.services import queue_audit
from civicloom.audit.tables import AuditEntryRow, AuditReadRow
from civicloom.backoffice.cases import read_case
from civicloom.db import write_pending
from civicloom.kernel import NotFound
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.world import persona, submit
from tests.querycount import counting

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
RESTAURANT_FIELDS = (
    "business_name",
    "business_registration_number",
    "contact_email",
    "cuisine",
    "director_name",
    "grease_trap",
    "opening_date",
    "parcel_id",
    "premises_address",
    "seating",
    "staff_count",
)


def read(app: str, n: int, actor: str = "dev-login:olivia") -> AuditRecord:
    return AuditRecord(
        actor=actor,
        action=AuditAction.APPLICATION_READ,
        subject_type="application",
        subject_id=app,
        occurred_at=T0 + timedelta(seconds=n),
        department="local-admin",
        purpose="an officer reviews the application",
        fields=("business_name",),
        details={"n": n},
    )


async def record_reads(container: Container, records: list[AuditRecord]) -> None:
    async with container.uow() as uow:
        for record in records:
            record_read(uow.session, record)
        await uow.commit()


async def logged(container: Container) -> list[tuple[str, str, str | None]]:
    """``(subject, actor, purpose)`` of the reads waiting in the log, in the order recorded."""
    async with container.uow() as uow:
        rows = await uow.session.execute(
            select(AuditReadRow.subject_id, AuditReadRow.actor, AuditReadRow.purpose).order_by(
                AuditReadRow.id
            )
        )
        return [(a, b, c) for a, b, c in rows]


async def chained(container: Container, app: str) -> list[tuple[int, str, Any, int | None]]:
    """``(position, actor, details, read id)`` of an application's chain."""
    async with container.uow() as uow:
        rows = await uow.session.execute(
            select(
                AuditEntryRow.position,
                AuditEntryRow.actor,
                AuditEntryRow.details,
                AuditEntryRow.read_id,
            )
            .where(AuditEntryRow.chain == f"application:{app}")
            .order_by(AuditEntryRow.position)
        )
        return [(a, b, c, d) for a, b, c, d in rows]


async def read_ids(container: Container) -> list[int]:
    async with container.uow() as uow:
        return list(await uow.session.scalars(select(AuditReadRow.id).order_by(AuditReadRow.id)))


async def folded_ids(container: Container) -> list[int]:
    async with container.uow() as uow:
        ids = await uow.session.scalars(
            select(AuditEntryRow.read_id)
            .where(AuditEntryRow.read_id.is_not(None))
            .order_by(AuditEntryRow.read_id)
        )
        return [int(i) for i in ids if i is not None]


async def verified(container: Container) -> tuple[bool, int]:
    async with container.uow() as uow:
        report = await verify_audit(uow.session, None)
    assert report.problems == []
    return report.valid, report.pending_reads


def shape(statement: str) -> str:
    """``SELECT <first table>`` / ``INSERT <table>``: what a statement does, to what."""
    words = statement.split()
    if words[0] == "INSERT":
        return f"INSERT {words[2]}"
    return f"{words[0]} {words[words.index('FROM') + 1]}"


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_status_read_is_one_insert_no_lock_and_a_refused_read_leaves_nothing(
    container: Container, client: httpx.AsyncClient
) -> None:
    app = await submit(container, "read-log-1")
    alice, bob = persona(container, "alice"), persona(container, "bob")
    async with container.uow() as uow:
        entries = await uow.session.scalar(
            select(func.count()).where(AuditEntryRow.subject_id == app)
        )

    with counting(container) as statements:
        await application_status(container.uow(), container.clock, alice, app)
    assert [shape(s) for s in statements] == [
        "SELECT applications",
        "SELECT application_tasks",
        "SELECT application_timeline",
        "INSERT audit_read_log",
    ]
    assert not [s for s in statements if "advisory" in s or "audit_entries" in s]
    assert await logged(container) == [(app, "dev-login:alice", "applicant views status")]
    async with container.uow() as uow:
        row = await uow.session.scalar(select(AuditReadRow))
        assert row is not None
        assert (row.action, row.actor_subject, row.subject_type, row.department) == (
            "application.read",
            "alice",
            "application",
            None,
        )
        assert tuple(row.fields) == RESTAURANT_FIELDS
        # the chain itself is untouched until the fold
        assert (
            await uow.session.scalar(select(func.count()).where(AuditEntryRow.subject_id == app))
            == entries
        )

    # Bob asks for Alice's application: not found, and nothing is recorded.
    with pytest.raises(NotFound):
        await application_status(container.uow(), container.clock, bob, app)
    refused = await client.get(f"/api/v1/applications/{app}/status", headers=as_persona("bob"))
    assert refused.status_code == 404
    assert refused.headers["content-type"] == "application/problem+json"
    assert len(await logged(container)) == 1


async def test_the_fold_chains_each_read_once_in_order_and_verifies(container: Container) -> None:
    await record_reads(container, [read("fold-a", 1), read("fold-b", 2), read("fold-a", 3)])
    await record_reads(container, [read("fold-a", 4), read("fold-b", 5, actor="dev-login:nora")])
    ids = await read_ids(container)
    assert len(ids) == 5
    assert await verified(container) == (True, 5)

    assert await fold_reads(container.uow(), batch=2) == 5  # batches of 2, 2 and 1
    assert await logged(container) == []
    assert await chained(container, "fold-a") == [
        (1, "dev-login:olivia", {"n": 1}, ids[0]),
        (2, "dev-login:olivia", {"n": 3}, ids[2]),
        (3, "dev-login:olivia", {"n": 4}, ids[3]),
    ]
    assert await chained(container, "fold-b") == [
        (1, "dev-login:olivia", {"n": 2}, ids[1]),
        (2, "dev-login:nora", {"n": 5}, ids[4]),
    ]
    assert await verified(container) == (True, 0)

    # again: nothing left to fold, nothing added
    assert await fold_reads(container.uow(), batch=2) == 0
    assert await folded_ids(container) == ids


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_folders_at_once_and_a_folder_killed_mid_fold_chain_each_read_once(
    container: Container,
) -> None:
    # 10 reads of fold-held first (ids 1-10 of this test), then 90 over three other chains
    await record_reads(container, [read("fold-held", n) for n in range(10)])
    await record_reads(container, [read(f"fold-{n % 3}", n) for n in range(10, 100)])
    ids = await read_ids(container)
    assert len(ids) == 100

    # A folder's connection dies after it claimed and appended its batch: nothing was folded.
    dying = container.uow()
    async with dying:
        assert await fold_pending_reads(dying.session, batch=10) == 10
        await dying.session.run_sync(write_pending)
        pid = await dying.session.scalar(text("SELECT pg_backend_pid()"))
        url = make_url(container.settings.database_url).set(drivername="postgresql")
        with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as kill:
            kill.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(DBAPIError):
            await dying.commit()
    assert await read_ids(container) == ids
    assert await folded_ids(container) == []

    # One folder holds the first batch (fold-held's ten) uncommitted; another skips those rows
    # and folds the other ninety meanwhile; then the first commits.
    holder = container.uow()
    async with holder:
        assert await fold_pending_reads(holder.session, batch=10) == 10
        assert await fold_reads(container.uow(), batch=10) == 90
        assert await read_ids(container) == ids[:10]  # still in the log until it commits
        await holder.commit()
    assert await folded_ids(container) == ids
    assert [p for p, _, _, r in await chained(container, "fold-held")] == list(range(1, 11))

    # Two folders racing over 60 more reads of the same three chains: each read once.
    await record_reads(container, [read(f"fold-{n % 3}", n) for n in range(100, 160)])
    more = await read_ids(container)
    counts = await asyncio.gather(
        fold_reads(container.uow(), batch=7), fold_reads(container.uow(), batch=7)
    )
    assert sum(counts) == 60
    assert await folded_ids(container) == ids + more
    assert [len(await chained(container, f"fold-{n}")) for n in range(3)] == [50, 50, 50]
    assert await verified(container) == (True, 0)


async def test_a_read_not_yet_folded_is_shown_to_whom_it_may_concern_only(
    container: Container, client: httpx.AsyncClient
) -> None:
    app = await submit(container, "read-log-2")
    olivia = persona(container, "olivia")
    await read_case(container.uow, container.clock, olivia, app)
    assert await logged(container) == [
        (app, "dev-login:olivia", "an officer reviews the application")
    ]

    async def shown() -> dict[str, Any]:
        async with container.uow() as uow:
            session = uow.session
            by_app = await search_entries(session, AuditFilter(applications=(app,)), limit=50)
            by_person = await search_entries(
                session,
                AuditFilter(person="alice", person_applications=(app,), reads_only=True),
                limit=50,
            )
            by_officer = await search_entries(session, AuditFilter(actor="olivia"), limit=50)
            history = await subject_history(session, "application", app)
            uses = await data_use_for_subject(session, [app], reader_subject="alice")
            lines = [line async for line in export_audit(session, f"application:{app}")]
        return {
            "newest": (by_app[0].actor, by_app[0].action, by_app[0].purpose),
            "by person": [(r.actor, r.action) for r in by_person],
            "by officer": [(r.subject_id, r.action) for r in by_officer],
            "history last": (history[-1].actor, history[-1].action),
            "uses": [(u.actor, u.department, u.purpose) for u in uses],
            "export": [line["type"] for line in lines if line["action"] == "application.read"],
        }

    olivias_read = ("dev-login:olivia", "application.read", "an officer reviews the application")
    before = await shown()
    assert before == {
        "newest": olivias_read,
        "by person": [("dev-login:olivia", "application.read")],
        "by officer": [(app, "application.read")],
        "history last": ("dev-login:olivia", "application.read"),
        "uses": [("dev-login:olivia", "local-admin", "an officer reviews the application")],
        "export": ["pending_read"],
    }
    # Alice's "who used my data" shows it; Bob, another citizen, sees nothing of it.
    alices = await client.get("/api/v1/me/data-use", headers=as_persona("alice"))
    assert alices.status_code == 200
    assert [(u["actor"], u["application_id"]) for u in alices.json()] == [("dev-login:olivia", app)]
    bobs = await client.get("/api/v1/me/data-use", headers=as_persona("bob"))
    assert bobs.status_code == 200
    assert bobs.json() == []
    # the auditor's search page lists it by the person
    page = await client.get(
        "/backoffice/audit", params={"person": "alice"}, headers=as_persona("ada")
    )
    assert page.status_code == 200
    assert 'data-action="application.read"' in page.text

    # Folded, it shows the same everywhere (the export as an entry of the chain).
    assert await fold_reads(container.uow()) == 1
    assert await shown() == {**before, "export": ["entry"]}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_read_cannot_leave_the_log_by_a_decoy_entry_in_another_chain(
    container: Container,
) -> None:
    # What the application's role may do (INSERT audit_entries, DELETE audit_read_log): an entry
    # naming the read in an unrelated chain, then the read deleted. The commit is refused.
    await record_reads(container, [read("victim-app", 0)])
    [rid] = await read_ids(container)
    async with container.uow() as uow:
        await queue_audit(
            uow.session,
            AuditRecord(
                actor="system:x",
                action=AuditAction.APPLICATION_READ,
                subject_type="decoy",
                subject_id="nothing",
                occurred_at=T0,
            ),
            read_id=rid,
        )
        await uow.session.execute(delete(AuditReadRow).where(AuditReadRow.id == rid))
        with pytest.raises(DBAPIError, match="without being folded"):
            await uow.commit()
    assert await read_ids(container) == [rid]
    async with container.uow() as uow:
        uses = await data_use_for_subject(uow.session, ["victim-app"])
    assert [u.purpose for u in uses] == ["an officer reviews the application"]


async def test_a_case_history_without_reads_does_not_grow_with_views(container: Container) -> None:
    # One submission, then five views (three folded into the chain, two still in the log): the
    # task page's history read sends back the submission only, however often it was viewed.
    async with container.uow() as uow:
        await append_audit(
            uow.session,
            AuditRecord(
                actor="dev-login:alice",
                action=AuditAction.APPLICATION_SUBMITTED,
                subject_type="application",
                subject_id="viewed-app",
                occurred_at=T0,
            ),
        )
        await uow.commit()
    await record_reads(container, [read("viewed-app", n) for n in range(1, 4)])
    assert await fold_reads(container.uow()) == 3
    await record_reads(container, [read("viewed-app", n) for n in range(4, 6)])
    async with container.uow() as uow:
        everything = await subject_history(uow.session, "application", "viewed-app")
        history = await subject_history(
            uow.session, "application", "viewed-app", without_reads=True
        )
    assert len(everything) == 6
    assert [str(e.action) for e in history] == ["application.submitted"]
