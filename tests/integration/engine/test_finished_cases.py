"""Finishing a case closes its dead letters and cancels its timers; re-drive and abandon refuse
on a finished case (issue 18): a withdrawn application is never sent to a department again and
never turns ``failed``."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select, update

from civicloom.applications import list_dead_letters, resolve_dead_letter, withdraw_application
from civicloom.applications.tables import ApplicationRow, DeadLetterRow, TaskRow
from civicloom.audit.tables import AuditEntryRow
from civicloom.kernel import Conflict
from civicloom.outbox.tables import OutboxRow
from tests.conftest import as_persona
from tests.integration.engine.conftest import ALICE, PRIYA, Engine, engine_blueprint, later

COOLING_OFF = [{"id": "cooling_off", "kind": "timer", "duration": {"seconds": 600}}]


async def dead_lettered_application(engine: Engine) -> tuple[str, str]:
    """An application whose tax call failed for good (3 attempts), with a timer waiting."""
    await engine.publish(engine_blueprint(version=2, extra_steps=COOLING_OFF))
    engine.departments.fail_times["tax.clearance_check"] = 10
    app_id = await engine.submit()
    for _ in range(4):
        await engine.drain()
        later(engine, 3)
    letters = await list_dead_letters(engine.container.uow(), PRIYA)
    assert [(d.application_id, d.department) for d in letters] == [(app_id, "tax")]
    return app_id, letters[0].id


async def counts(engine: Engine) -> tuple[int, int, int]:
    """Audit entries, outbox messages and open dead letters."""
    async with engine.container.uow() as uow:
        audit = await uow.session.scalar(select(func.count()).select_from(AuditEntryRow))
        outbox = await uow.session.scalar(select(func.count()).select_from(OutboxRow))
        open_letters = await uow.session.scalar(
            select(func.count())
            .select_from(DeadLetterRow)
            .where(DeadLetterRow.resolved_at.is_(None))
        )
    return int(audit or 0), int(outbox or 0), int(open_letters or 0)


async def state_of(engine: Engine, app_id: str) -> tuple[str, dict[str, str]]:
    async with engine.container.uow() as uow:
        app = await uow.session.get(ApplicationRow, app_id)
        tasks = await uow.session.scalars(select(TaskRow).where(TaskRow.application_id == app_id))
        assert app is not None
        return app.state, {t.step_id: t.state for t in tasks}


async def test_withdrawal_closes_dead_letters_and_cancels_timers(engine: Engine) -> None:
    app_id, letter_id = await dead_lettered_application(engine)
    assert (await state_of(engine, app_id))[1]["cooling_off"] == "ready"
    await withdraw_application(engine.container.uow(), engine.clock, ALICE, app_id)

    assert await list_dead_letters(engine.container.uow(), PRIYA) == []
    closed = await list_dead_letters(engine.container.uow(), PRIYA, include_resolved=True)
    assert [(d.id, d.resolution) for d in closed] == [(letter_id, "closed")]
    state, tasks = await state_of(engine, app_id)
    assert state == "withdrawn"
    assert tasks["tax"] == "cancelled"
    assert tasks["cooling_off"] == "cancelled"
    later(engine, 601)  # the timer would be due now
    assert await engine.drain() == 0


async def test_redrive_and_abandon_refuse_on_a_finished_case(engine: Engine) -> None:
    app_id, letter_id = await dead_lettered_application(engine)
    await withdraw_application(engine.container.uow(), engine.clock, ALICE, app_id)
    async with engine.container.uow() as uow:  # a letter left open before this rule existed
        await uow.session.execute(
            update(DeadLetterRow)
            .where(DeadLetterRow.id == letter_id)
            .values(resolved_at=None, resolved_by=None, resolution=None)
        )
        await uow.commit()
    engine.departments.fail_times.clear()
    calls_before = sum(engine.departments.applied.values())
    before = await counts(engine)

    for redrive in (True, False):
        with pytest.raises(Conflict, match="already withdrawn"):
            await resolve_dead_letter(
                engine.container.uow(), engine.clock, PRIYA, letter_id, redrive=redrive
            )
    await engine.drain()
    assert sum(engine.departments.applied.values()) == calls_before  # the tax office not called
    assert await counts(engine) == before  # no audit entry, no event, letter untouched
    state, tasks = await state_of(engine, app_id)
    assert (state, tasks["tax"]) == ("withdrawn", "cancelled")


async def test_the_api_answers_409_and_the_operator_page_explains(
    engine: Engine, client: httpx.AsyncClient
) -> None:
    app_id, letter_id = await dead_lettered_application(engine)
    await withdraw_application(engine.container.uow(), engine.clock, ALICE, app_id)
    priya = as_persona("priya")
    before = await counts(engine)
    for action in ("redrive", "abandon"):
        answer = await client.post(
            f"/api/v1/operations/dead-letters/{letter_id}/{action}", headers=priya
        )
        assert answer.status_code == 409
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "already withdrawn" in answer.json()["detail"]
        page = await client.post(
            f"/backoffice/operations/dead-letters/{letter_id}/{action}", headers=priya
        )
        assert page.status_code == 303
        assert page.headers["location"] == "/backoffice/operations?error=finished"
    shown = await client.get("/backoffice/operations?error=finished", headers=priya)
    assert "That application is already finished" in shown.text
    assert await counts(engine) == before
    assert (await state_of(engine, app_id))[0] == "withdrawn"
    # and nobody but an operator may try
    officer = await client.post(
        f"/api/v1/operations/dead-letters/{letter_id}/redrive", headers=as_persona("olivia")
    )
    assert officer.status_code == 403
