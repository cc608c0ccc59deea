"""A correctly signed callback completes only its own department's waiting task (ADR 0032).

On the old main a callback signed with the environment department's secret for
``<app>:payment`` got 200 and the application was approved unpaid. Here the real API, the real
verifiers built from the department files and the real engine answer each forged callback with
problem+json, audit it, and change nothing else.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from civicloom.app import create_app
from civicloom.applications import complete_external_step
from civicloom.connectors import (
    CALLBACK_VERIFIERS,
    COMPLETION_HANDLER,
    build_connectors,
    sign_callback,
)
from civicloom.connectors.services import CompletionHandler
from civicloom.departments import load_departments
from civicloom.settings import PROJECT_ROOT
from tests.integration.engine.binding import (
    AcceptEverything,
    binding_blueprint,
    keys_of,
    refusals,
    snapshot,
)
from tests.integration.engine.conftest import T0, Engine
from tests.integration.engine.conftest import engine as engine
from tests.wiring import swap

SECRET = "binding-test-environment-secret"
SCREENED = {"screening_id": "SCR-7", "outcome": "cleared", "reasons": []}


@pytest.fixture
async def api(engine: Engine) -> AsyncIterator[tuple[Engine, str, httpx.AsyncClient]]:
    """A binding-test case waiting for answers, and the real callback API with the engine."""
    engine.runner.gateway = AcceptEverything()
    await engine.publish(binding_blueprint())
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


def signed(body: dict[str, Any]) -> dict[str, Any]:
    """A callback signed with the environment department's real secret, at the engine's now."""
    raw = json.dumps(body, separators=(",", ":")).encode()
    ts = str(int(T0.timestamp()))
    return {
        "content": raw,
        "headers": {
            "Content-Type": "application/json",
            "X-Civicloom-Timestamp": ts,
            "X-Civicloom-Signature": sign_callback(SECRET, ts, raw),
        },
    }


async def _refused(
    api: tuple[Engine, str, httpx.AsyncClient], key: str, status: int, rule: str, reason: str
) -> None:
    engine, app_id, client = api
    before = await snapshot(engine.container, app_id)
    resp = await client.post(
        "/api/v1/callbacks/environment", **signed({**SCREENED, "idempotency_key": key})
    )
    assert resp.status_code == status
    assert resp.headers["content-type"] == "application/problem+json"
    problem = resp.json()
    assert problem["type"] == (
        "/problems/completion-refused" if status == 403 else "/problems/completion-not-awaited"
    )
    assert [(e["field"], e["rule"]) for e in problem["errors"]] == [("idempotency_key", rule)]
    after = await snapshot(engine.container, app_id)
    assert (after.app, after.tasks, after.timeline, after.outbox, after.audit_other) == (
        before.app,
        before.tasks,
        before.timeline,
        before.outbox,
        before.audit_other,
    )
    actor, sender, details = (await refusals(engine.container))[-1]
    assert (actor, sender, details["reason"], details["key"]) == (
        "system:completion-from:environment",
        "environment",
        reason,
        key,
    )
    assert after.refusals == before.refusals + 1


async def test_environment_cannot_answer_the_local_admin_step(
    api: tuple[Engine, str, httpx.AsyncClient],
) -> None:
    keys = await keys_of(api[0].container, api[1])
    await _refused(api, keys["zoning"], 403, "task-of-sender", "wrong-department")
    await _refused(api, keys["review"], 403, "task-of-sender", "wrong-department")


async def test_environment_cannot_pay_the_fee(api: tuple[Engine, str, httpx.AsyncClient]) -> None:
    engine, app_id, _ = api
    keys = await keys_of(engine.container, app_id)
    await _refused(api, keys["payment"], 403, "task-of-sender", "wrong-department")
    # the old, predictable key names no task at all, and reads the same as another's task
    await _refused(api, f"{app_id}:payment", 403, "task-of-sender", "unknown-task")
    assert (await snapshot(engine.container, app_id)).app[0] == "in_progress"


async def test_the_environment_answers_its_own_step_once(
    api: tuple[Engine, str, httpx.AsyncClient],
) -> None:
    engine, app_id, client = api
    key = (await keys_of(engine.container, app_id))["screening"]
    resp = await client.post(
        "/api/v1/callbacks/environment", **signed({**SCREENED, "idempotency_key": key})
    )
    assert resp.status_code == 200
    assert resp.json() == {"status": "accepted"}
    done = await snapshot(engine.container, app_id)
    assert done.tasks["screening"][:2] == ("completed", SCREENED)
    assert done.refusals == 0
    # the seen-set acknowledges a repeated answer of the same request as a duplicate ...
    again = {**SCREENED, "idempotency_key": key, "completed_at": "2026-12-01T09:00:00Z"}
    resp = await client.post("/api/v1/callbacks/environment", **signed(again))
    assert (resp.status_code, resp.json()) == (200, {"status": "duplicate"})


async def test_an_answer_to_a_decided_case_is_refused(
    api: tuple[Engine, str, httpx.AsyncClient],
) -> None:
    from civicloom.departments import ExternalCompletion

    engine, app_id, _ = api
    keys = await keys_of(engine.container, app_id)
    refusal = ExternalCompletion(
        keys["zoning"], {"zone": "residential", "allowed": False}, "local-admin"
    )
    assert (await complete_external_step(engine.container, refusal)).accepted
    await _refused(api, keys["screening"], 409, "case-open", "case-closed")
