"""A department's answer, or an officer's decision, that the case cannot go on with (a ``when``
or ``reject_when`` failing at run time) is recorded and dead-lettered, naming the step and the
expression (issue 18).

On the old main ``ConditionFailed`` escaped ``complete_external_step`` and ``decide_task``: the
callback got a 500 and the department retried forever; the officer got a 500 and the task
stayed open.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from civicloom.app import create_app
from civicloom.applications import (
    OfficerDecision,
    TaskFilter,
    complete_external_step,
    decide_task,
    list_dead_letters,
    list_officer_tasks,
)
from civicloom.applications.tables import TaskRow
from civicloom.catalogue import Blueprint
from civicloom.connectors import (
    CALLBACK_VERIFIERS,
    COMPLETION_HANDLER,
    build_connectors,
    sign_callback,
)
from civicloom.connectors.services import CompletionHandler
from civicloom.departments import ExternalCompletion, load_departments
from civicloom.settings import PROJECT_ROOT
from tests.integration.engine.binding import AcceptEverything, binding_blueprint, keys_of
from tests.integration.engine.conftest import OLIVIA, PRIYA, T0, Engine, engine_blueprint
from tests.integration.engine.conftest import engine as engine
from tests.wiring import swap

SECRET = "unrecordable-test-environment-secret"
SCREENED = {"screening_id": "SCR-7", "outcome": "cleared", "reasons": []}
POISON = "number(steps.screening.output.outcome) > 1"  # "cleared" is not a number


def with_step(blueprint: Blueprint, step_id: str, version: int, **changes: Any) -> Blueprint:
    steps = [s.model_copy(update=changes) if s.id == step_id else s for s in blueprint.steps]
    return blueprint.model_copy(update={"steps": steps, "version": version})


async def task_row(engine: Engine, app_id: str, step: str) -> TaskRow:
    async with engine.container.uow() as uow:
        row = await uow.session.scalar(
            select(TaskRow).where(TaskRow.application_id == app_id, TaskRow.step_id == step)
        )
        assert row is not None
        return row


@pytest.fixture
async def api(engine: Engine) -> AsyncIterator[tuple[Engine, str, httpx.AsyncClient]]:
    """A binding-test case whose screening has a poison ``reject_when``, waiting for the
    environment department's callback, and the real callback API with the engine."""
    engine.runner.gateway = AcceptEverything()
    await engine.publish(with_step(binding_blueprint(), "screening", 2, reject_when=POISON))
    app_id = await engine.submit(service="binding-test")
    await engine.drain()
    settings = engine.container.settings.model_copy(
        update={"connector_secrets": {"environment.callback": SecretStr(SECRET)}}
    )
    registry = build_connectors(
        load_departments(PROJECT_ROOT / "blueprints"),
        settings,
        {"environment": "http://127.0.0.1:9"},
    )
    app = create_app(engine.container)
    swap(app, CALLBACK_VERIFIERS, registry.callback_verifiers())
    handler: CompletionHandler = partial(complete_external_step, engine.container)
    swap(app, COMPLETION_HANDLER, handler)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield engine, app_id, client
    await registry.close()


def signed(body: dict[str, Any], at: int) -> dict[str, Any]:
    raw = json.dumps(body, separators=(",", ":")).encode()
    ts = str(int(T0.timestamp()) + at)
    return {
        "content": raw,
        "headers": {
            "Content-Type": "application/json",
            "X-Civicloom-Timestamp": ts,
            "X-Civicloom-Signature": sign_callback(SECRET, ts, raw),
        },
    }


async def test_a_callback_the_case_cannot_go_on_with_is_recorded_and_dead_lettered(
    api: tuple[Engine, str, httpx.AsyncClient],
) -> None:
    engine, app_id, client = api
    key = (await keys_of(engine.container, app_id))["screening"]
    body = {**SCREENED, "idempotency_key": key}
    resp = await client.post("/api/v1/callbacks/environment", **signed(body, 0))
    assert (resp.status_code, resp.json()) == (200, {"status": "accepted"})
    screening = await task_row(engine, app_id, "screening")
    assert (screening.state, screening.output) == ("failed", SCREENED)
    letters = await list_dead_letters(engine.container.uow(), PRIYA)
    assert [(d.application_id, d.department) for d in letters] == [(app_id, "environment")]
    assert "'screening'" in letters[0].error
    assert f"'{POISON}'" in letters[0].error
    assert "screening.reject_when" in letters[0].error
    # the department's retry gets a definite answer too, and nothing changes
    resp = await client.post("/api/v1/callbacks/environment", **signed(body, 1))
    assert (resp.status_code, resp.json()) == (200, {"status": "duplicate"})
    assert len(await list_dead_letters(engine.container.uow(), PRIYA)) == 1


async def test_the_engine_verdict_names_the_dead_letter(
    api: tuple[Engine, str, httpx.AsyncClient],
) -> None:
    engine, app_id, _ = api
    key = (await keys_of(engine.container, app_id))["screening"]
    answer = ExternalCompletion(key, dict(SCREENED), "environment")
    verdict = await complete_external_step(engine.container, answer)
    assert verdict.accepted
    assert verdict.dead_letter is not None
    assert "screening.reject_when" in verdict.dead_letter
    again = await complete_external_step(engine.container, answer)
    assert str(again.refusal) == "not-waiting"
    assert (await task_row(engine, app_id, "screening")).state == "failed"


async def test_an_officer_decision_the_case_cannot_go_on_with_is_dead_lettered(
    engine: Engine,
) -> None:
    poison = "number(steps.review.output.decision) > 1"  # "approved" is not a number
    await engine.publish(with_step(engine_blueprint(), "notify", 2, when=poison))
    app_id = await engine.submit()
    await engine.drain()
    queue = await list_officer_tasks(engine.container.uow(), engine.clock, OLIVIA, TaskFilter())
    review = [t for t in queue if t.application_id == app_id]
    assert [t.step_id for t in review] == ["review"]
    view = await decide_task(
        engine.container.uow(), engine.clock, OLIVIA, review[0].id, OfficerDecision.APPROVE, None
    )
    assert view.state == "failed"
    row = await task_row(engine, app_id, "review")
    assert (row.state, row.output, row.assignee) == (
        "failed",
        {"decision": "approved", "by": "olivia", "reason": None},
        "olivia",
    )
    letters = await list_dead_letters(engine.container.uow(), PRIYA)
    mine = [d for d in letters if d.application_id == app_id]
    assert len(mine) == 1
    assert "'review'" in mine[0].error
    assert "notify.when" in mine[0].error
    assert (await task_row(engine, app_id, "notify")).state == "waiting"
