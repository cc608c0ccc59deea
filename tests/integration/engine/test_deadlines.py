"""Legal deadlines and SLAs in working days of the blueprint's calendar, the clock that stops
while the applicant is asked for information, escalation that keeps the step's role, and
reminders that never starve (ADR 0039).

Every expected date below was counted by hand on the Riverton calendar
(blueprints/calendars/riverton.yaml: Fri 25 Dec 2026 and Fri 1 Jan 2027 are holidays).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from civicloom.applications import (
    OfficerDecision,
    StepRunner,
    answer_information_request,
    decide_task,
    request_information,
    sweep_slas,
)
from civicloom.applications.tables import ApplicationRow, TaskRow
from civicloom.kernel import FixedClock, NotFound
from civicloom.outbox.tables import OutboxRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.world import Departments, drain, persona, submit, task_of
from tests.integration.engine.conftest import OLIVIA, Engine, engine_blueprint, later

MONDAY_21_DEC = datetime(2026, 12, 21, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock(container: Container) -> FixedClock:
    clock = FixedClock(MONDAY_21_DEC)
    container.clock = clock
    return clock


@pytest.fixture
def runner(container: Container, clock: FixedClock) -> StepRunner:
    return StepRunner(container, Departments().gateway())


async def _application(container: Container, app_id: str) -> ApplicationRow:
    async with container.uow() as uow:
        app = await uow.session.get(ApplicationRow, app_id)
    assert app is not None
    return app


async def test_the_legal_deadline_and_step_slas_skip_the_blueprints_holidays(
    container: Container, clock: FixedClock
) -> None:
    app_id = await submit(container, "holidays-1")
    app = await _application(container, app_id)
    # 20 working days from Mon 21 Dec 2026: 22-24 Dec (3), 28-31 Dec (4), 4-8 Jan (5),
    # 11-15 Jan (5), 18-20 Jan (3). Counting 25 Dec and 1 Jan would give Mon 18 Jan.
    assert app.deadline_at == datetime(2027, 1, 20, 10, 0, tzinfo=UTC)
    zoning = await task_of(container, app_id, "zoning")  # 5 working days
    assert zoning.sla_due_at == datetime(2026, 12, 29, 10, 0, tzinfo=UTC)  # not Mon 28 Dec
    screening = await task_of(container, app_id, "screening")  # 10 working days
    assert screening.sla_due_at == datetime(2027, 1, 6, 10, 0, tzinfo=UTC)  # not Mon 4 Jan


async def test_the_clock_stops_while_the_applicant_is_asked_and_the_pages_say_so(
    container: Container, clock: FixedClock, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id = await submit(container, "stop-1")
    await drain(runner)
    review = await task_of(container, app_id, "licensing_review")
    assert review.state == "awaiting_officer"
    assert review.sla_due_at == datetime(2026, 12, 24, 10, 0, tzinfo=UTC)  # 3 working days

    clock.advance(timedelta(days=2, hours=1))  # Wed 23 Dec 2026, 11:00
    # An officer of another department cannot stop the clock: nothing changes.
    with pytest.raises(NotFound):
        await request_information(
            container.uow(), clock, persona(container, "tariq"), review.id, "Send it"
        )
    assert (await _application(container, app_id)).clock_stopped_at is None
    await request_information(
        container.uow(), clock, persona(container, "olivia"), review.id, "Send the floor plan"
    )
    app = await _application(container, app_id)
    assert app.clock_stopped_at == datetime(2026, 12, 23, 11, 0, tzinfo=UTC)
    assert app.deadline_at == datetime(2027, 1, 20, 10, 0, tzinfo=UTC)

    clock.advance(timedelta(days=13))  # Tue 5 Jan 2027, 11:00: the clock still stands
    # 24 Dec, 28-31 Dec, 4-8 Jan, 11-15 Jan, 18-20 Jan: 18 working days left on 23 Dec.
    alice = {**as_persona("alice"), "Accept": "text/html"}
    status = await client.get(f"/applications/{app_id}", headers=alice)
    assert status.status_code == 200, status.text[:2000]
    assert "Clock stopped on 23 December 2026" in status.text
    assert "18 working days left" in status.text
    chinese = await client.get(
        f"/applications/{app_id}", headers={**alice, "Accept-Language": "zh-Hans"}
    )
    assert "计时暂停" in chinese.text
    assert "还剩 18 个工作日" in chinese.text
    officer = await client.get(f"/backoffice/tasks/{review.id}", headers=as_persona("olivia"))
    assert officer.status_code == 200, officer.text[:2000]
    assert "Clock stopped on 23 December 2026" in officer.text
    assert "18 working days left" in officer.text

    # Waiting for the applicant is not the officer's delay: nothing escalates meanwhile.
    assert await sweep_slas(container.uow(), clock.now()) == (0, 0)

    # Another citizen cannot answer, so cannot restart the clock: nothing changes.
    with pytest.raises(NotFound):
        await answer_information_request(
            container.uow(), clock, persona(container, "bob"), app_id, "here"
        )
    app = await _application(container, app_id)
    assert app.clock_stopped_at == datetime(2026, 12, 23, 11, 0, tzinfo=UTC)
    assert app.deadline_at == datetime(2027, 1, 20, 10, 0, tzinfo=UTC)

    await answer_information_request(
        container.uow(), clock, persona(container, "alice"), app_id, "Attached"
    )
    # Stopped 24 Dec, 28-31 Dec, 4-5 Jan: 7 working days. 20 Jan + 7 = Fri 29 Jan.
    app = await _application(container, app_id)
    assert app.clock_stopped_at is None
    assert app.deadline_at == datetime(2027, 1, 29, 10, 0, tzinfo=UTC)
    review = await task_of(container, app_id, "licensing_review")
    assert review.state == "awaiting_officer"
    assert review.sla_due_at == datetime(2027, 1, 6, 10, 0, tzinfo=UTC)  # 24 Dec + 7
    status = await client.get(f"/applications/{app_id}", headers=alice)
    assert "Clock stopped" not in status.text
    assert "18 working days left" in status.text  # 6-8, 11-15, 18-22, 25-29 Jan


async def test_escalation_keeps_the_role_and_only_human_steps_escalate(engine: Engine) -> None:
    engine.departments.fail_times["tax.clearance_check"] = 100  # tax stays queued, retrying
    app_id = await engine.submit(seating=80)
    await engine.drain()
    async with engine.container.uow() as uow:
        tasks = {
            t.step_id: t
            for t in await uow.session.scalars(
                select(TaskRow).where(TaskRow.application_id == app_id)
            )
        }
        tax = tasks["tax"]
        assert tax.state in ("ready", "failed")
        tax.sla_due_at = engine.clock.now() + timedelta(seconds=60)  # an automated step's SLA
        await uow.commit()
    later(engine, 3601)  # past the inspection's hour and the tax step's minute
    _, escalations = await sweep_slas(engine.container.uow(), engine.clock.now())
    assert escalations == 1
    inspection = await task_of(engine.container, app_id, "inspection")
    tax_after = await task_of(engine.container, app_id, "tax")
    async with engine.container.uow() as uow:
        events = list(
            await uow.session.scalars(
                select(OutboxRow).where(OutboxRow.topic == "civicloom.task.escalated")
            )
        )
    assert inspection is not None
    assert tax_after is not None
    assert (inspection.escalated, inspection.role, inspection.escalated_to) == (
        True,
        "licensing-officer",
        "supervisor",
    )
    assert (tax_after.escalated, tax_after.role, tax_after.escalated_to) == (False, None, None)
    [event] = events
    assert event.payload["data"]["role"] == "licensing-officer"
    assert event.payload["data"]["escalated_to"] == "supervisor"


async def test_a_due_reminder_is_sent_however_many_tasks_were_reminded_before(
    engine: Engine,
) -> None:
    app_id = await engine.submit(seating=80)
    await engine.drain()
    start = engine.clock.now()
    async with engine.container.uow() as uow:
        # 201 open tasks already reminded, due before the inspection (but not yet overdue).
        for i in range(201):
            uow.session.add(
                TaskRow(
                    id=f"reminded-{i:03d}",
                    application_id=app_id,
                    step_id=f"filler_{i:03d}",
                    kind="officer_review",
                    department="local-admin",
                    role="licensing-officer",
                    state="awaiting_officer",
                    attempts=0,
                    idempotency_key=f"{app_id}:filler_{i:03d}",
                    sla_due_at=start + timedelta(seconds=3000),
                    reminded_at=start + timedelta(seconds=2000),
                    activated_at=start,
                    created_at=start,
                    updated_at=start,
                )
            )
        await uow.commit()
    later(engine, 2800)  # past 75% of the inspection's hour
    assert await sweep_slas(engine.container.uow(), engine.clock.now()) == (1, 0)
    inspection = await task_of(engine.container, app_id, "inspection")
    async with engine.container.uow() as uow:
        reminders = await uow.session.scalar(
            select(func.count())
            .select_from(OutboxRow)
            .where(OutboxRow.topic == "civicloom.task.sla_reminder")
        )
    assert inspection.reminded_at == start + timedelta(seconds=2800)
    assert reminders == 1


async def test_a_timer_waits_working_days_of_the_blueprints_calendar(engine: Engine) -> None:
    timer = {
        "id": "cooling_off",
        "kind": "timer",
        "after": ["notify"],
        "duration": {"working_days": 2},
    }
    blueprint = engine_blueprint(version=2, extra_steps=[timer])
    await engine.publish(blueprint.model_copy(update={"calendar": "riverton"}))
    engine.clock.advance(datetime(2026, 12, 24, 9, 0, tzinfo=UTC) - engine.clock.now())
    app_id = await engine.submit()
    await engine.drain()
    review = await task_of(engine.container, app_id, "review")
    await decide_task(
        engine.container.uow(), engine.clock, OLIVIA, review.id, OfficerDecision.APPROVE, None
    )
    waiting = await task_of(engine.container, app_id, "cooling_off")
    # Thu 24 Dec: 25 Dec is a holiday, then the weekend: Mon 28 and Tue 29 Dec.
    assert waiting.due_at == datetime(2026, 12, 29, 9, 0, tzinfo=UTC)
