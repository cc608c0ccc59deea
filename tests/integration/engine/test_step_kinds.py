"""A new step kind is one module: a tiny extra kind, registered in a test registry, runs a
blueprint through the engine and the worker (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications import (
    STEP_KINDS,
    Activation,
    ClaimedStep,
    EngineKind,
    UnknownStepKind,
    WorkerKind,
    use_step_kinds,
)
from civicloom.applications.case import CaseContext
from civicloom.applications.domain import TaskState
from civicloom.applications.steps import WorkerTools
from civicloom.applications.tables import ApplicationRow, TaskRow
from civicloom.catalogue import Blueprint, Step
from civicloom.departments import CallOutcome, CapabilityResult
from tests.integration.engine.conftest import Engine


class StampStep(WorkerKind):
    """The whole of a new worker kind: the worker stamps the step's input."""

    kind = "stamp"

    async def execute(self, claimed: ClaimedStep, tools: WorkerTools) -> CapabilityResult:
        return CapabilityResult(CallOutcome.COMPLETED, {"stamp": f"stamped {claimed.input['who']}"})


class NoteStep(EngineKind):
    """The whole of a new engine kind: done as soon as it is activated."""

    kind = "note"

    async def activate(
        self, session: AsyncSession, case: CaseContext, task: TaskRow, step: Step, now: datetime
    ) -> Activation:
        task.state, task.completed_at, task.output = TaskState.COMPLETED.value, now, {"noted": 1}
        return Activation.DONE


def stamp_blueprint() -> Blueprint:
    return Blueprint.model_validate(
        {
            "id": "stamp-test",
            "version": 1,
            "owner": "local-admin",
            "reference_prefix": "STP",
            "title": {"en": "Stamp test", "zh-Hans": "盖章测试"},
            "form": {"schema": {"type": "object", "properties": {"parcel_id": {"type": "string"}}}},
            "steps": [
                {"id": "stamp", "kind": "stamp", "input": {"who": "$.data.parcel_id"}},
                {"id": "note", "kind": "note", "after": ["stamp"], "end": True},
            ],
        }
    )


async def tasks(engine: Engine, app_id: str) -> dict[str, tuple[str, dict[str, object] | None]]:
    async with engine.container.uow() as uow:
        rows = await uow.session.scalars(select(TaskRow).where(TaskRow.application_id == app_id))
        return {t.step_id: (t.state, t.output) for t in rows}


async def test_a_kind_registered_in_a_test_registry_runs_through_the_engine(
    engine: Engine,
) -> None:
    kinds = STEP_KINDS.with_handlers(StampStep(), NoteStep())
    engine.runner.kinds = kinds
    await engine.publish(stamp_blueprint())
    with use_step_kinds(kinds):
        app_id = await engine.submit(service="stamp-test")
    assert await tasks(engine, app_id) == {"stamp": ("ready", None), "note": ("waiting", None)}

    assert await engine.drain() == 1
    assert await tasks(engine, app_id) == {
        "stamp": ("completed", {"stamp": "stamped P-0042-117"}),
        "note": ("completed", {"noted": 1}),
    }
    async with engine.container.uow() as uow:
        app = await uow.session.get(ApplicationRow, app_id)
        assert app is not None
        assert app.state == "approved"


async def test_a_kind_without_a_handler_does_not_start(engine: Engine) -> None:
    await engine.publish(stamp_blueprint())
    with pytest.raises(UnknownStepKind, match="no handler for step kind 'stamp'"):
        await engine.submit(service="stamp-test")
    async with engine.container.uow() as uow:
        assert list(await uow.session.scalars(select(TaskRow))) == []
