"""Every wait for a department's late answer ends (issue 18): when the blueprint's timeout is
up the engine asks the department (the connector's polling fallback) and takes its answer
through the completion path; without an answer it calls again under the step's retry policy,
and after the last attempt the step is dead-lettered. The clock is the injected one.

On the old main ``awaiting_external`` had no timeout: a lost callback left the case waiting
forever, and the callback connector's status poll was called only by a test.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from civicloom.applications import list_dead_letters
from civicloom.applications.tables import TaskRow
from civicloom.catalogue import Blueprint, ExternalWait, RetryPolicy
from civicloom.departments import (
    CallOutcome,
    CapabilityCall,
    CapabilityResult,
    ExternalCompletion,
)
from tests.integration.engine.binding import binding_blueprint, keys_of
from tests.integration.engine.conftest import PRIYA, Engine, later
from tests.integration.engine.conftest import engine as engine

SCREENED = {"screening_id": "SCR-7", "outcome": "cleared", "reasons": []}


class SlowDepartments:
    """Every department accepts and answers later; the environment department can be asked
    for the state of a request (its status poll), and answers it once ``ready``."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.asked: list[tuple[str, str, str]] = []
        self.ready: dict[str, Any] | None = None
        self.answer_key = ""

    async def call(self, call: CapabilityCall) -> CapabilityResult:
        self.calls[call.capability] += 1
        return CapabilityResult(
            outcome=CallOutcome.ACCEPTED, external_reference=f"REF-{call.capability}"
        )

    async def fetch_completion(
        self, department: str, capability: str, external_reference: str
    ) -> ExternalCompletion | None:
        self.asked.append((department, capability, external_reference))
        if self.ready is None:
            return None
        return ExternalCompletion(self.answer_key, dict(self.ready), department)


def waiting_blueprint() -> Blueprint:
    """The binding blueprint whose screening waits an hour, with two attempts."""
    blueprint = binding_blueprint()
    steps = [
        s.model_copy(
            update={
                "external_wait": ExternalWait(timeout_seconds=3600),
                "retry": RetryPolicy(max_attempts=2, initial_seconds=1, max_seconds=2),
            }
        )
        if s.id == "screening"
        else s
        for s in blueprint.steps
    ]
    return blueprint.model_copy(update={"steps": steps, "version": 2})


async def tasks(engine: Engine, app_id: str) -> dict[str, TaskRow]:
    async with engine.container.uow() as uow:
        rows = await uow.session.scalars(select(TaskRow).where(TaskRow.application_id == app_id))
        return {t.step_id: t for t in rows}


async def started(engine: Engine, blueprint: Blueprint) -> tuple[SlowDepartments, str]:
    departments = SlowDepartments()
    engine.runner.gateway = departments
    await engine.publish(blueprint)
    app_id = await engine.submit(service="binding-test")
    await engine.drain()
    assert (await tasks(engine, app_id))["screening"].state == "awaiting_external"
    return departments, app_id


async def test_when_the_wait_times_out_the_department_is_asked_and_its_answer_taken(
    engine: Engine,
) -> None:
    departments, app_id = await started(engine, waiting_blueprint())
    later(engine, 3599)
    await engine.drain()
    assert departments.asked == []  # not yet
    departments.ready = SCREENED
    later(engine, 2)
    await engine.drain()
    assert departments.asked == [
        ("environment", "environment.screening", "REF-environment.screening")
    ]
    screening = (await tasks(engine, app_id))["screening"]
    assert (screening.state, screening.output) == ("completed", SCREENED)
    assert departments.calls["environment.screening"] == 1  # asked, not called again


async def test_a_department_that_never_answers_is_called_again_then_dead_lettered(
    engine: Engine,
) -> None:
    departments, app_id = await started(engine, waiting_blueprint())
    later(engine, 3601)
    await engine.drain()
    screening = (await tasks(engine, app_id))["screening"]
    assert (screening.state, screening.attempts) == ("awaiting_external", 2)
    assert departments.calls["environment.screening"] == 2
    later(engine, 3601)
    await engine.drain()
    screening = (await tasks(engine, app_id))["screening"]
    assert screening.state == "failed"
    assert len(departments.asked) == 2
    assert departments.calls["environment.screening"] == 2  # no third call
    letters = [
        d
        for d in await list_dead_letters(engine.container.uow(), PRIYA)
        if d.application_id == app_id
    ]
    assert [(d.department, d.attempts) for d in letters] == [("environment", 2)]
    assert letters[0].error == (
        "no answer from environment to step 'screening' within 3600 s (attempt 2)"
    )


async def test_without_a_timeout_in_the_blueprint_a_wait_ends_after_48_hours(
    engine: Engine,
) -> None:
    departments, app_id = await started(engine, binding_blueprint())
    later(engine, 47 * 3600)
    await engine.drain()
    assert departments.calls["local-admin.zoning_check"] == 1
    later(engine, 3601)
    await engine.drain()
    assert departments.calls["local-admin.zoning_check"] == 2  # asked (no answer), called again
    # the fee waits for the applicant's payment, not a department: it has no such timeout
    assert (await tasks(engine, app_id))["payment"].state == "awaiting_external"


async def test_an_answer_fetched_for_another_departments_step_is_refused(
    engine: Engine,
) -> None:
    departments, app_id = await started(engine, waiting_blueprint())
    keys = await keys_of(engine.container, app_id)
    departments.ready = {"allowed": True, "zone": "commercial"}
    departments.answer_key = keys["zoning"]  # the environment's poll names local-admin's step
    later(engine, 3601)
    await engine.drain()
    now = await tasks(engine, app_id)
    assert now["zoning"].state == "awaiting_external"
    assert now["screening"].state == "awaiting_external"  # not taken: called again instead
    assert departments.calls["environment.screening"] == 2
