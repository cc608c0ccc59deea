"""The case engine on SQLite and PostgreSQL: parallel steps, joins, conditions, people, failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from civicloom.applications import (
    OfficerDecision,
    TaskFilter,
    TaskState,
    answer_information_request,
    application_status,
    assign_task,
    complete_external_step,
    decide_task,
    list_dead_letters,
    list_officer_tasks,
    read_officer_task,
    request_information,
    resolve_dead_letter,
    sweep_slas,
    withdraw_application,
)
from civicloom.applications.tables import ApplicationRow, DeadLetterRow, TaskRow
from civicloom.departments import CallOutcome, CapabilityCall, CapabilityResult, ExternalCompletion
from civicloom.identity import read_department_staff
from civicloom.kernel import Conflict, NotFound
from civicloom.outbox.tables import OutboxRow
from tests.integration.engine.conftest import (
    ALICE,
    GRACE,
    OLIVIA,
    PRIYA,
    TARIQ,
    Engine,
    engine_blueprint,
    later,
)


async def states(engine: Engine, app_id: str) -> dict[str, str]:
    async with engine.container.uow() as uow:
        rows = await uow.session.scalars(select(TaskRow).where(TaskRow.application_id == app_id))
        return {r.step_id: r.state for r in rows}


async def app_state(engine: Engine, app_id: str) -> str:
    async with engine.container.uow() as uow:
        row = await uow.session.get(ApplicationRow, app_id)
        assert row is not None
        return row.state


async def review_task(engine: Engine, app_id: str, step: str = "review") -> str:
    async with engine.container.uow() as uow:
        task = await uow.session.scalar(
            select(TaskRow).where(TaskRow.application_id == app_id, TaskRow.step_id == step)
        )
        assert task is not None
        return task.id


async def test_parallel_steps_join_and_officer_approval(engine: Engine) -> None:
    app_id = await engine.submit(seating=20)
    assert (await states(engine, app_id))["zoning"] == "ready"
    assert await engine.drain() == 4  # the four departments in one batch, in parallel
    s = await states(engine, app_id)
    assert {s[k] for k in ("zoning", "tax", "environment", "labour")} == {"completed"}
    assert s["inspection"] == "skipped"  # 20 seats: no inspection
    assert s["review"] == "awaiting_officer"  # the join fired once all four were done
    assert s["notify"] == "waiting"

    queue = await list_officer_tasks(engine.container.uow(), engine.clock, OLIVIA, TaskFilter())
    assert [t.step_id for t in queue] == ["review"]
    assert await list_officer_tasks(engine.container.uow(), engine.clock, TARIQ, TaskFilter()) == []

    await decide_task(
        engine.container.uow(), engine.clock, OLIVIA, queue[0].id, OfficerDecision.APPROVE, None
    )
    assert await app_state(engine, app_id) == "approved"
    assert (await states(engine, app_id))["notify"] == "completed"
    # each department applied its call exactly once
    assert sorted(engine.departments.applied.values()) == [1, 1, 1, 1]

    status = await application_status(engine.container.uow(), engine.clock, ALICE, app_id)
    assert status.application.deadline_at is not None
    assert status.application.deadline_at.date().isoformat() == "2026-12-29"  # 20 working days
    assert [st.state for st in status.steps if st.step_id == "review"] == [TaskState.COMPLETED]
    assert status.timeline[-1].event == "application.approved"

    async with engine.container.uow() as uow:
        topics = set(await uow.session.scalars(select(OutboxRow.topic)))
    assert {"civicloom.application.approved", "civicloom.notification.requested"} <= topics


async def test_condition_starts_the_inspection_branch(engine: Engine) -> None:
    app_id = await engine.submit(seating=80)
    await engine.drain()
    s = await states(engine, app_id)
    assert s["inspection"] == "awaiting_officer"
    assert s["review"] == "waiting"  # the join waits for the inspection too
    await decide_task(
        engine.container.uow(),
        engine.clock,
        OLIVIA,
        await review_task(engine, app_id, "inspection"),
        OfficerDecision.APPROVE,
        None,
    )
    assert (await states(engine, app_id))["review"] == "awaiting_officer"


async def test_rejection_rule_cancels_the_rest(engine: Engine) -> None:
    engine.departments.zoning_allowed = False
    app_id = await engine.submit()
    await engine.drain()
    assert await app_state(engine, app_id) == "rejected"
    s = await states(engine, app_id)
    assert s["review"] == "cancelled"
    status = await application_status(engine.container.uow(), engine.clock, ALICE, app_id)
    assert status.application.outcome_reason == "Zoning check did not allow the application"


async def test_officer_rejection_needs_a_reason(engine: Engine) -> None:
    app_id = await engine.submit()
    await engine.drain()
    task_id = await review_task(engine, app_id)
    with pytest.raises(Exception, match="invalid"):
        await decide_task(
            engine.container.uow(), engine.clock, OLIVIA, task_id, OfficerDecision.REJECT, "  "
        )
    await decide_task(
        engine.container.uow(),
        engine.clock,
        OLIVIA,
        task_id,
        OfficerDecision.REJECT,
        "The kitchen plan is missing",
    )
    assert await app_state(engine, app_id) == "rejected"


async def test_more_information_loop(engine: Engine) -> None:
    app_id = await engine.submit()
    await engine.drain()
    task_id = await review_task(engine, app_id)
    await request_information(
        engine.container.uow(), engine.clock, OLIVIA, task_id, "Please send the kitchen floor plan"
    )
    assert await app_state(engine, app_id) == "awaiting_applicant"
    status = await application_status(engine.container.uow(), engine.clock, ALICE, app_id)
    assert status.timeline[-1].message == "Please send the kitchen floor plan"
    with pytest.raises(Conflict):
        await decide_task(
            engine.container.uow(), engine.clock, OLIVIA, task_id, OfficerDecision.APPROVE, None
        )
    await answer_information_request(
        engine.container.uow(), engine.clock, ALICE, app_id, "Plan attached as document 3"
    )
    assert await app_state(engine, app_id) == "in_progress"
    assert (await states(engine, app_id))["review"] == "awaiting_officer"
    await decide_task(
        engine.container.uow(), engine.clock, OLIVIA, task_id, OfficerDecision.APPROVE, None
    )
    assert await app_state(engine, app_id) == "approved"


async def test_withdrawal_cancels_open_steps_and_is_final(engine: Engine) -> None:
    app_id = await engine.submit()
    await withdraw_application(engine.container.uow(), engine.clock, ALICE, app_id)
    assert await app_state(engine, app_id) == "withdrawn"
    assert set((await states(engine, app_id)).values()) == {"cancelled"}
    assert await engine.drain() == 0  # nothing runs for a withdrawn application
    with pytest.raises(Conflict):
        await withdraw_application(engine.container.uow(), engine.clock, ALICE, app_id)
    bob = ALICE.__class__(subject="bob", display_name="Bob", authenticated_by="dev-login")
    with pytest.raises(NotFound):
        await withdraw_application(engine.container.uow(), engine.clock, bob, app_id)


async def test_running_applications_stay_on_their_blueprint_version(engine: Engine) -> None:
    old_app = await engine.submit()
    extra = [{"id": "extra", "kind": "timer", "after": ["notify"], "duration": {"seconds": 1}}]
    await engine.publish(engine_blueprint(version=2, extra_steps=extra))
    new_app = await engine.submit()
    assert "extra" not in await states(engine, old_app)
    assert "extra" in await states(engine, new_app)
    async with engine.container.uow() as uow:
        versions = {
            r.id: r.blueprint_version for r in await uow.session.scalars(select(ApplicationRow))
        }
    assert versions == {old_app: 1, new_app: 2}


async def test_transient_failures_retry_with_backoff(engine: Engine) -> None:
    engine.departments.fail_times["tax.clearance_check"] = 2
    app_id = await engine.submit()
    await engine.drain()
    async with engine.container.uow() as uow:
        tax = await uow.session.scalar(select(TaskRow).where(TaskRow.step_id == "tax"))
    assert tax is not None
    assert tax.state == "ready"
    assert tax.attempts == 1
    assert tax.last_error == "tax is down"
    assert tax.due_at is not None
    assert tax.due_at > engine.clock.now()
    for _ in range(3):
        later(engine, 3)
        await engine.drain()
    assert (await states(engine, app_id))["tax"] == "completed"
    assert (await states(engine, app_id))["review"] == "awaiting_officer"


async def test_dead_letter_redrive_and_abandon(engine: Engine) -> None:
    engine.departments.fail_times["tax.clearance_check"] = 10
    first = await engine.submit()
    second = await engine.submit()
    for _ in range(4):
        await engine.drain()
        later(engine, 3)
    letters = await list_dead_letters(engine.container.uow(), PRIYA)
    assert sorted(letter.application_id for letter in letters) == sorted([first, second])
    assert all(letter.attempts == 3 for letter in letters)
    assert all(letter.department == "tax" for letter in letters)
    assert (await states(engine, first))["tax"] == "failed"

    with pytest.raises(Exception, match="operators"):
        await list_dead_letters(engine.container.uow(), OLIVIA)
    engine.departments.fail_times["tax.clearance_check"] = 0
    by_app = {letter.application_id: letter.id for letter in letters}
    await resolve_dead_letter(
        engine.container.uow(), engine.clock, PRIYA, by_app[first], redrive=True
    )
    await resolve_dead_letter(
        engine.container.uow(), engine.clock, PRIYA, by_app[second], redrive=False
    )
    await engine.drain()
    assert (await states(engine, first))["tax"] == "completed"
    assert await app_state(engine, second) == "failed"
    with pytest.raises(Conflict):
        await resolve_dead_letter(
            engine.container.uow(), engine.clock, PRIYA, by_app[first], redrive=True
        )
    async with engine.container.uow() as uow:
        open_letters = await uow.session.scalar(
            select(func.count())
            .select_from(DeadLetterRow)
            .where(DeadLetterRow.resolved_at.is_(None))
        )
    assert open_letters == 0


async def test_accepted_calls_wait_for_the_department_to_answer(engine: Engine) -> None:
    async def accept(call: CapabilityCall) -> CapabilityResult:
        return CapabilityResult(outcome=CallOutcome.ACCEPTED, external_reference="SCR-1")

    class Gateway:
        async def call(self, call: CapabilityCall) -> CapabilityResult:
            if call.capability == "environment.screening":
                return await accept(call)
            return await engine.departments.gateway().call(call)

    engine.runner.gateway = Gateway()
    app_id = await engine.submit(seating=20)
    await engine.drain()
    assert (await states(engine, app_id))["environment"] == "awaiting_external"
    async with engine.container.uow() as uow:
        key = await uow.session.scalar(
            select(TaskRow.idempotency_key)
            .where(TaskRow.application_id == app_id)
            .where(TaskRow.step_id == "environment")
        )
    assert key is not None
    assert key != f"{app_id}:environment"
    done = ExternalCompletion(
        idempotency_key=key, output={"outcome": "cleared"}, received_from="environment"
    )
    assert (await complete_external_step(engine.container, done)).accepted
    again = await complete_external_step(engine.container, done)  # duplicate callback
    assert not again.accepted
    assert again.refusal == "not-waiting"
    s = await states(engine, app_id)
    assert s["environment"] == "completed"
    assert s["review"] == "awaiting_officer"
    unknown = ExternalCompletion(idempotency_key="nope", output={}, received_from="environment")
    assert (await complete_external_step(engine.container, unknown)).refusal == "unknown-task"


async def test_timers_wait_until_due(engine: Engine) -> None:
    extra = [
        {"id": "cooling_off", "kind": "timer", "after": ["notify"], "duration": {"seconds": 600}}
    ]
    await engine.publish(engine_blueprint(version=2, extra_steps=extra))
    app_id = await engine.submit()
    await engine.drain()
    await decide_task(
        engine.container.uow(),
        engine.clock,
        OLIVIA,
        await review_task(engine, app_id),
        OfficerDecision.APPROVE,
        None,
    )
    assert (await states(engine, app_id))["cooling_off"] == "ready"
    assert await engine.drain() == 0
    later(engine, 601)
    assert await engine.drain() == 1
    assert await app_state(engine, app_id) == "approved"


async def test_sla_reminder_then_escalation_and_reassignment(engine: Engine) -> None:
    app_id = await engine.submit(seating=80)
    await engine.drain()
    inspection = await review_task(engine, app_id, "inspection")
    assert await sweep_slas(engine.container.uow(), engine.clock.now()) == (0, 0)
    later(engine, 2800)  # past 75% of the hour
    assert await sweep_slas(engine.container.uow(), engine.clock.now()) == (1, 0)
    assert await sweep_slas(engine.container.uow(), engine.clock.now()) == (0, 0)
    later(engine, 900)
    assert await sweep_slas(engine.container.uow(), engine.clock.now()) == (0, 1)
    queue = await list_officer_tasks(
        engine.container.uow(), engine.clock, GRACE, TaskFilter(sla="breached")
    )
    assert [(t.id, t.escalated, t.role) for t in queue] == [(inspection, True, "licensing-officer")]
    staff = await read_department_staff(engine.container.uow(), engine.clock, "local-admin")
    with pytest.raises(Exception, match="supervisor"):
        await assign_task(engine.container.uow(), engine.clock, OLIVIA, inspection, "olivia", staff)
    task = await assign_task(
        engine.container.uow(), engine.clock, GRACE, inspection, "olivia", staff
    )
    assert task.assignee == "olivia"
    async with engine.container.uow() as uow:
        topics = list(await uow.session.scalars(select(OutboxRow.topic)))
    assert "civicloom.task.sla_reminder" in topics
    assert "civicloom.task.escalated" in topics


async def test_officers_see_only_their_departments_fields(engine: Engine) -> None:
    app_id = await engine.submit()
    await engine.drain()
    _, data = await read_officer_task(
        engine.container.uow(), engine.clock, OLIVIA, await review_task(engine, app_id)
    )
    assert set(data) == {"parcel_id", "registration_number", "seating", "staff_count"}
    with pytest.raises(NotFound):
        await read_officer_task(
            engine.container.uow(), engine.clock, TARIQ, await review_task(engine, app_id)
        )


async def test_a_lost_lease_is_taken_over(engine: Engine) -> None:
    from civicloom.applications.execution import claim_steps

    app_id = await engine.submit()
    async with engine.container.uow() as uow:
        claimed = await claim_steps(
            uow.session, "dying-worker", engine.clock.now(), 10, timedelta(seconds=30)
        )
        await uow.commit()
    assert len(claimed) == 4
    assert await engine.drain() == 0  # leased by a worker that died
    later(engine, 31)
    assert await engine.drain() == 4
    assert (await states(engine, app_id))["review"] == "awaiting_officer"
