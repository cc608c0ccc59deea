"""When the legal deadline passes undecided the blueprint's action happens (ADR 0053): the
application is marked overdue (always), its open officer steps escalated to the supervisors
(``escalate``), or it is approved because the law says silence is consent
(``deemed_approval``). Once per application, never while the clock is stopped. Moved clock.

The engine blueprint counts 20 working days (Monday to Friday, no calendar) from Tue
1 Dec 2026 09:00: 2-4 Dec (3), 7-11 (5), 14-18 (5), 21-25 (5), 28-29 (2) = Tue 29 Dec 09:00.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from civicloom.applications import request_information, sweep_slas
from civicloom.applications.tables import ApplicationRow, TaskRow, TimelineRow
from civicloom.audit.tables import AuditEntryRow
from civicloom.catalogue import Blueprint
from civicloom.outbox.tables import OutboxRow
from tests.conftest import as_persona
from tests.integration.engine.conftest import OLIVIA, Engine, engine_blueprint
from tests.integration.engine.conftest import engine as engine

DEADLINE = datetime(2026, 12, 29, 9, 0, tzinfo=UTC)


def blueprint(deadline_passed: dict[str, Any] | None, version: int = 2) -> Blueprint:
    """The engine blueprint with the action, and no step SLAs (so only the deadline acts)."""
    document = engine_blueprint(version=version).document()
    for step in document["steps"]:
        step.pop("sla", None)
    if deadline_passed is not None:
        document["deadline_passed"] = deadline_passed
    return Blueprint.model_validate(document)


async def state(engine: Engine, app_id: str) -> tuple[ApplicationRow, dict[str, TaskRow]]:
    async with engine.container.uow() as uow:
        app = await uow.session.get(ApplicationRow, app_id)
        tasks = await uow.session.scalars(select(TaskRow).where(TaskRow.application_id == app_id))
        assert app is not None
        return app, {t.step_id: t for t in tasks}


async def topics(engine: Engine, app_id: str) -> list[str]:
    """The application's deadline, approval and escalation events, in order."""
    async with engine.container.uow() as uow:
        rows = await uow.session.scalars(select(OutboxRow).order_by(OutboxRow.id))
        return [
            r.topic
            for r in rows
            if r.payload.get("subject") == app_id
            and any(word in r.topic for word in ("deadline", "approved", "escalated"))
        ]


def at(engine: Engine, when: datetime) -> None:
    """Move the engine's clock to ``when``."""
    engine.clock.advance(when - engine.clock.now())


async def started(engine: Engine, deadline_passed: dict[str, Any] | None) -> str:
    await engine.publish(blueprint(deadline_passed))
    app_id = await engine.submit(seating=20)
    await engine.drain()
    app, tasks = await state(engine, app_id)
    assert (app.deadline_at, tasks["review"].state) == (DEADLINE, "awaiting_officer")
    return app_id


async def test_by_default_an_undecided_application_is_marked_overdue_once(
    engine: Engine, client: httpx.AsyncClient
) -> None:
    app_id = await started(engine, None)
    at(engine, datetime(2026, 12, 29, 8, 59, tzinfo=UTC))  # a minute before
    assert await sweep_slas(engine.container.uow(), engine.clock.now()) == (0, 0)
    assert await topics(engine, app_id) == []

    at(engine, datetime(2026, 12, 29, 9, 0, tzinfo=UTC))
    assert await sweep_slas(engine.container.uow(), engine.clock.now()) == (0, 0)
    assert await sweep_slas(engine.container.uow(), engine.clock.now()) == (0, 0)  # once
    app, tasks = await state(engine, app_id)
    assert (app.state, tasks["review"].state, tasks["review"].escalated) == (
        "in_progress",
        "awaiting_officer",
        False,
    )
    assert await topics(engine, app_id) == ["civicloom.application.deadline_passed"]
    async with engine.container.uow() as uow:
        timeline = list(
            await uow.session.scalars(
                select(TimelineRow.message).where(
                    TimelineRow.application_id == app_id,
                    TimelineRow.event == "application.deadline_passed",
                )
            )
        )
        audited = list(
            await uow.session.execute(
                select(AuditEntryRow.actor, AuditEntryRow.details).where(
                    AuditEntryRow.subject_id == app_id,
                    AuditEntryRow.action == "application.deadline_passed",
                )
            )
        )
    assert timeline == ["The legal deadline (2026-12-29) passed without a decision"]
    assert [tuple(a) for a in audited] == [
        ("system:sla", {"deadline": "2026-12-29", "action": "mark_overdue"})
    ]
    page = await client.get(f"/applications/{app_id}", headers=as_persona("alice"))
    assert page.status_code == 200, page.text[:2000]
    assert "The legal deadline passed without a decision" in page.text
    chinese = await client.get(
        f"/applications/{app_id}", headers={**as_persona("alice"), "Accept-Language": "zh-Hans"}
    )
    assert "法定期限已过，仍未作出决定" in chinese.text


async def test_escalate_sends_every_open_officer_step_to_the_supervisors(engine: Engine) -> None:
    app_id = await started(engine, {"action": "escalate"})
    at(engine, datetime(2026, 12, 29, 9, 1, tzinfo=UTC))
    assert await sweep_slas(engine.container.uow(), engine.clock.now()) == (0, 1)
    assert await sweep_slas(engine.container.uow(), engine.clock.now()) == (0, 0)
    app, tasks = await state(engine, app_id)
    review = tasks["review"]
    assert (app.state, review.escalated, review.role, review.escalated_to) == (
        "in_progress",
        True,
        "licensing-officer",
        "supervisor",
    )
    assert await topics(engine, app_id) == [
        "civicloom.application.deadline_passed",
        "civicloom.task.escalated",
    ]


async def test_deemed_approval_approves_with_the_blueprints_legal_reason(engine: Engine) -> None:
    app_id = await started(
        engine, {"action": "deemed_approval", "reason": "Licensing Act s. 12(4)"}
    )
    at(engine, datetime(2026, 12, 29, 9, 1, tzinfo=UTC))
    assert await sweep_slas(engine.container.uow(), engine.clock.now()) == (0, 0)
    app, tasks = await state(engine, app_id)
    assert (app.state, app.decided_at, app.outcome_reason) == (
        "approved",
        datetime(2026, 12, 29, 9, 1, tzinfo=UTC),
        "deemed approved: no decision within the legal deadline (Licensing Act s. 12(4))",
    )
    assert (tasks["review"].state, tasks["notify"].state) == ("cancelled", "cancelled")
    assert await topics(engine, app_id) == [
        "civicloom.application.deadline_passed",
        "civicloom.application.approved",
    ]
    assert await sweep_slas(engine.container.uow(), engine.clock.now()) == (0, 0)
    assert len(await topics(engine, app_id)) == 2


async def test_nothing_happens_while_the_clock_is_stopped(engine: Engine) -> None:
    app_id = await started(engine, {"action": "deemed_approval", "reason": "Licensing Act"})
    _, tasks = await state(engine, app_id)
    await request_information(
        engine.container.uow(), engine.clock, OLIVIA, tasks["review"].id, "The floor plan"
    )
    at(engine, datetime(2027, 2, 1, 9, 0, tzinfo=UTC))  # long past, still waiting
    assert await sweep_slas(engine.container.uow(), engine.clock.now()) == (0, 0)
    app, _ = await state(engine, app_id)
    assert (app.state, app.decided_at) == ("awaiting_applicant", None)
    assert await topics(engine, app_id) == []


def test_a_deemed_approval_must_quote_its_law() -> None:
    with pytest.raises(ValidationError) as refused:
        blueprint({"action": "deemed_approval"})
    [error] = refused.value.errors()
    assert (error["loc"], error["msg"]) == (
        ("deadline_passed",),
        "Value error, a deemed approval must quote its legal provision in `reason`",
    )
    with pytest.raises(ValidationError):
        blueprint({"action": "approve_everything", "reason": "x"})
