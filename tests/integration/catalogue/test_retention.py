"""Retention enforced (ADR 0050), on SQLite and PostgreSQL: as the clock moves, drafts, the
answers of closed applications and their documents (rows marked, files deleted through the
documents port) go exactly when the data catalogue says, each removal audited; open
applications, newer drafts and answers still within their period are untouched; a second run
purges nothing more. Periods are the demo blueprint's, written here by hand."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from civicloom.applications import purge_closed_form_data
from civicloom.applications.tables import ApplicationRow
from civicloom.audit.tables import AuditEntryRow
from civicloom.bootstrap import build_worker
from civicloom.catalogue import Retention
from civicloom.documents import DOCUMENTS_RUNTIME, purge_expired_documents
from civicloom.documents.tables import DocumentRow
from civicloom.kernel import FixedClock
from civicloom.portal import purge_expired_drafts, start_draft
from civicloom.portal.tables import DraftRow
from civicloom.runtime import Container
from tests.integration.documents.helpers import ALICE, new_application
from tests.integration.payments.conftest import ALICE as ALICE_PRINCIPAL
from tests.unit.documents import samples

DAY = timedelta(days=1)
ANSWERS = {
    "business_registration_number",
    "business_name",
    "director_name",
    "parcel_id",
    "premises_address",
    "seating",
    "grease_trap",
    "staff_count",
    "cuisine",
    "opening_date",
    "contact_email",
}


async def upload(client: httpx.AsyncClient, app_id: str, kind: str) -> str:
    response = await client.post(
        f"/api/v1/applications/{app_id}/documents",
        data={"document_type": kind},
        files={"file": (f"{kind}.pdf", samples.pdf())},
        headers=ALICE,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def answers(container: Container, app_id: str) -> set[str]:
    async with container.uow() as uow:
        row = await uow.session.get(ApplicationRow, app_id)
        assert row is not None
        return set(row.data)


async def documents(container: Container) -> dict[str, tuple[bool, bool]]:
    """Document id → (row marked purged, file still in the store)."""
    store = container.get(DOCUMENTS_RUNTIME).store
    async with container.uow() as uow:
        rows = list(await uow.session.scalars(select(DocumentRow)))
    return {r.id: (r.purged_at is not None, await store.exists(r.storage_key)) for r in rows}


async def purge_audit(container: Container) -> list[tuple[str, str, Any]]:
    async with container.uow() as uow:
        rows = await uow.session.scalars(
            select(AuditEntryRow)
            .where(AuditEntryRow.actor == "system:retention")
            .order_by(AuditEntryRow.seq)
        )
        return [(r.action, r.subject_id, r.details) for r in rows]


async def test_retention_purges_on_schedule_audited_and_only_once(
    client: httpx.AsyncClient, container: Container
) -> None:
    closed = await new_application(client)
    plan = await upload(client, closed, "floor_plan")  # P6Y after closing
    lease = await upload(client, closed, "lease")  # P2Y after closing
    withdrawn = await client.post(f"/api/v1/applications/{closed}/withdrawal", headers=ALICE)
    assert withdrawn.status_code in (200, 204), withdrawn.text
    still_open = await new_application(client)
    open_plan = await upload(client, still_open, "floor_plan")

    clock = FixedClock(container.clock.now())
    store = container.get(DOCUMENTS_RUNTIME).store
    drafts = Retention(days=30)

    async def run() -> tuple[int, int, int]:
        gone_drafts = await purge_expired_drafts(container.uow, clock, drafts, batch_size=1)
        gone_answers = await purge_closed_form_data(container.uow, clock, batch_size=1)
        gone_files = await purge_expired_documents(container.uow(), store, clock, limit=1)
        return len(gone_drafts), len(gone_answers), len(gone_files)

    old_draft = await start_draft(container.uow(), clock, ALICE_PRINCIPAL, "open-a-restaurant")
    clock.advance(20 * DAY)
    new_draft = await start_draft(container.uow(), clock, ALICE_PRINCIPAL, "open-a-restaurant")
    assert await run() == (0, 0, 0)

    clock.advance(11 * DAY)  # day 31: the first draft is 31 days old, the second 11
    assert await run() == (1, 0, 0)
    async with container.uow() as uow:
        left = list(await uow.session.scalars(select(DraftRow.id)))
    assert left == [new_draft.id]
    assert old_draft.id != new_draft.id

    clock.advance(365 * DAY)  # day 396: past one year since closing — cuisine, contact_email
    assert await run() == (1, 1, 0)  # the second draft's 30 days are long over, too
    assert await answers(container, closed) == ANSWERS - {"cuisine", "contact_email"}
    assert await answers(container, still_open) == ANSWERS
    assert await documents(container) == {
        plan: (False, True),
        lease: (False, True),
        open_plan: (False, True),
    }

    clock.advance(365 * DAY)  # day 761: two years — the director's name and the lease
    assert await run() == (0, 1, 1)
    assert await answers(container, closed) == ANSWERS - {
        "cuisine",
        "contact_email",
        "director_name",
    }
    assert await documents(container) == {
        plan: (False, True),
        lease: (True, False),
        open_plan: (False, True),
    }
    assert await run() == (0, 0, 0)  # a second run purges nothing more

    clock.advance(4 * 366 * DAY)  # past six years: everything of the closed application
    assert await run() == (0, 1, 1)
    assert await answers(container, closed) == set()
    assert await answers(container, still_open) == ANSWERS  # open: nothing runs out
    assert await documents(container) == {
        plan: (True, False),
        lease: (True, False),
        open_plan: (False, True),
    }
    assert await run() == (0, 0, 0)

    audit = await purge_audit(container)
    assert [(action, subject) for action, subject, _ in audit] == [
        ("draft.purged", old_draft.id),
        ("draft.purged", new_draft.id),
        ("application.form_data_purged", closed),
        ("application.form_data_purged", closed),
        ("document.purged", closed),
        ("application.form_data_purged", closed),
        ("document.purged", closed),
    ]
    assert audit[2][2]["fields"] == ["contact_email", "cuisine"]
    assert audit[3][2]["fields"] == ["director_name"]
    assert audit[4][2]["document_id"] == lease
    assert audit[4][2]["rule"] == "closed+P2Y"
    assert audit[5][2]["fields"] == [
        "business_name",
        "business_registration_number",
        "grease_trap",
        "opening_date",
        "parcel_id",
        "premises_address",
        "seating",
        "staff_count",
    ]
    assert audit[6][2]["document_id"] == plan
    assert "alice@example.org" not in str(audit)  # names of fields, never their values


async def test_the_worker_runs_the_retention_purge_on_its_setting(container: Container) -> None:
    settings = container.settings.model_copy(update={"retention_purge_seconds": 3600.0})
    worker = build_worker(settings)
    try:
        jobs = {job.name: job for job in worker.periodic}
        assert jobs["retention-purge"].every_seconds == 3600.0
        assert jobs["document-purge"].every_seconds == settings.document_purge_seconds
        assert await jobs["retention-purge"].run() == 0  # nothing is due on a fresh world
    finally:
        for close in worker.resources:
            await close()


async def purge_due(container: Container, app_id: str) -> Any:
    async with container.uow() as uow:
        row = await uow.session.get(ApplicationRow, app_id)
        assert row is not None
        return row.decided_at, row.data_purge_due_at


async def test_the_purge_reads_only_applications_whose_next_answer_is_due(
    client: httpx.AsyncClient, container: Container
) -> None:
    """A closed application carries the day its next answer runs out; a run before that day
    does not read it, and each purge moves the day on (ADR 0058: no rescan of every closed
    application)."""
    closed = await new_application(client)
    still_open = await new_application(client)
    withdrawn = await client.post(f"/api/v1/applications/{closed}/withdrawal", headers=ALICE)
    assert withdrawn.status_code in (200, 204), withdrawn.text
    decided, due = await purge_due(container, closed)
    assert due == decided.replace(year=decided.year + 1)  # cuisine and contact_email: P1Y
    assert (await purge_due(container, still_open))[1] is None

    clock = FixedClock(due - DAY)
    assert await purge_closed_form_data(container.uow, clock) == []
    clock.advance(DAY)
    (purged,) = await purge_closed_form_data(container.uow, clock)
    assert purged.fields == ("contact_email", "cuisine")
    assert (await purge_due(container, closed))[1] == decided.replace(year=decided.year + 2)
    assert await purge_closed_form_data(container.uow, clock) == []  # nothing due until then
