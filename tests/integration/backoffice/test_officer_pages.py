"""Officer pages over the real ASGI stack: queue, task page, actions, department scoping."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from civicloom.applications import StepRunner
from civicloom.applications.tables import TimelineRow
from civicloom.audit import fold_reads
from civicloom.audit.tables import AuditEntryRow
from civicloom.backoffice.tables import CaseNoteRow, InspectionAppointmentRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.world import drain, submit, task_of


async def _inspection_task(container: Container, runner: StepRunner) -> tuple[str, str]:
    app_id = await submit(container, "elena-1", seating=60)
    await drain(runner)
    task = await task_of(container, app_id, "inspection")
    assert task.state == "awaiting_officer"
    return app_id, task.id


async def _actions(container: Container, app_id: str) -> list[str]:
    await fold_reads(container.uow())  # the reads recorded, as the worker folds them (ADR 0073)
    async with container.uow() as uow:
        rows = await uow.session.scalars(
            select(AuditEntryRow.action)
            .where(AuditEntryRow.subject_id == app_id)
            .order_by(AuditEntryRow.position)
        )
        return list(rows)


async def test_elena_schedules_an_inspection_and_approves(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id, task_id = await _inspection_task(container, runner)
    elena = as_persona("elena")

    queue = await client.get("/backoffice/tasks", headers=elena)
    assert queue.status_code == 200
    assert f"/backoffice/tasks/{task_id}" in queue.text

    page = await client.get(f"/backoffice/tasks/{task_id}", headers=elena)
    assert page.status_code == 200, page.text
    assert 'data-field="seating"' in page.text
    assert 'data-field="contact_email"' not in page.text  # not shared with environment
    assert "alice@example.org" not in page.text
    assert "Inspection routing" in page.text  # which rule decided, by the model's title
    assert "environment/inspection-routing" not in page.text

    day = (container.clock.now() + timedelta(days=5)).date().isoformat()
    scheduled = await client.post(
        f"/backoffice/tasks/{task_id}/inspections",
        data={"planned_on": day, "inspection_note": "Check the extraction hood"},
        headers=elena,
    )
    assert scheduled.status_code == 303
    noted = await client.post(
        f"/backoffice/tasks/{task_id}/notes", data={"note": "Owner prefers mornings"}, headers=elena
    )
    assert noted.status_code == 303
    decided = await client.post(
        f"/backoffice/tasks/{task_id}/decision", data={"decision": "approve"}, headers=elena
    )
    assert decided.status_code == 303, decided.text

    task = await task_of(container, app_id, "inspection")
    assert task.state == "completed"
    async with container.uow() as uow:
        planned = list(await uow.session.scalars(select(InspectionAppointmentRow)))
        notes = list(await uow.session.scalars(select(CaseNoteRow)))
        timeline = list(
            await uow.session.scalars(
                select(TimelineRow.message).where(TimelineRow.application_id == app_id)
            )
        )
    assert [p.planned_on.isoformat() for p in planned] == [day]
    assert [n.body for n in notes] == ["Owner prefers mornings"]
    assert any(day in message for message in timeline)
    actions = await _actions(container, app_id)
    for action in ("application.read", "inspection.scheduled", "note.added", "task.approved"):
        assert action in actions


async def test_refused_actions_explain_the_field_and_change_nothing(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id, task_id = await _inspection_task(container, runner)
    elena = as_persona("elena")
    before = await _actions(container, app_id)

    no_reason = await client.post(
        f"/backoffice/tasks/{task_id}/decision", data={"decision": "reject"}, headers=elena
    )
    assert no_reason.status_code == 422
    assert 'href="#reason"' in no_reason.text
    past = await client.post(
        f"/backoffice/tasks/{task_id}/inspections", data={"planned_on": "2001-01-01"}, headers=elena
    )
    assert past.status_code == 422
    assert 'href="#planned_on"' in past.text
    garbled = await client.post(
        f"/backoffice/tasks/{task_id}/inspections", data={"planned_on": "soon"}, headers=elena
    )
    assert garbled.status_code == 422
    empty = await client.post(f"/backoffice/tasks/{task_id}/notes", data={}, headers=elena)
    assert empty.status_code == 422

    assert (await task_of(container, app_id, "inspection")).state == "awaiting_officer"
    after = await _actions(container, app_id)
    # Re-rendering the page reads the application again (audited); nothing else was written.
    assert {a for a in after[len(before) :]} <= {"application.read"}


async def test_an_officer_cannot_reach_another_departments_task(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id, task_id = await _inspection_task(container, runner)
    for stranger in ("tariq", "olivia", "lars", "grace"):
        headers = as_persona(stranger)
        page = await client.get(f"/backoffice/tasks/{task_id}", headers=headers)
        assert page.status_code == 404, stranger
        assert "Golden Dragon" not in page.text
        decided = await client.post(
            f"/backoffice/tasks/{task_id}/decision", data={"decision": "approve"}, headers=headers
        )
        assert decided.status_code == 404, stranger
        queue = await client.get("/backoffice/tasks", headers=headers)
        assert task_id not in queue.text
    for outsider in ("alice", "priya", "ada", "sam"):
        page = await client.get(f"/backoffice/tasks/{task_id}", headers=as_persona(outsider))
        assert page.status_code == 403, outsider
    assert (await task_of(container, app_id, "inspection")).state == "awaiting_officer"


async def test_claim_release_and_filters(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    _, task_id = await _inspection_task(container, runner)
    elena = as_persona("elena")
    claimed = await client.post(f"/backoffice/tasks/{task_id}/claim", headers=elena)
    assert claimed.status_code == 303
    mine = await client.get("/backoffice/tasks?mine=true", headers=elena)
    assert task_id in mine.text
    again = await client.post(f"/backoffice/tasks/{task_id}/claim", headers=as_persona("elena"))
    assert again.status_code == 303  # holding it already is fine
    released = await client.post(f"/backoffice/tasks/{task_id}/release", headers=elena)
    assert released.status_code == 303
    mine = await client.get("/backoffice/tasks?mine=true", headers=elena)
    assert task_id not in mine.text
    breached = await client.get("/backoffice/tasks?sla=breached", headers=elena)
    assert task_id not in breached.text
    on_track = await client.get("/backoffice/tasks?sla=on_track", headers=elena)
    assert task_id in on_track.text
    bad = await client.get("/backoffice/tasks?sla=sometime", headers=elena)
    assert bad.status_code == 422
    assert "sla" in bad.text
