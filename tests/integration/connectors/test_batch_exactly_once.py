"""Batch-file answers are taken exactly once, whoever crashes and however many workers share
the exchange directory (issue 18).

On the old main ``poll()`` marked an answer consumed (a per-process journal) and moved its file
before the engine had stored anything: a worker dying in between lost the answer and the step
waited forever; two workers racing for one file crashed on the move.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from civicloom.applications import complete_external_step
from civicloom.applications.tables import TaskRow, TimelineRow
from civicloom.connectors import FileDropConnector, build_connectors, collect_batch_answers
from civicloom.connectors.services import CompletionHandler
from civicloom.connectors.tables import ConnectorBatchAnswerRow
from civicloom.departments import (
    CapabilityCall,
    CapabilityResult,
    CompletionVerdict,
    ExternalCompletion,
    load_departments,
)
from civicloom.settings import PROJECT_ROOT
from simulators.local_admin.batchfile import RESPONSE_HEADER, render_csv, with_trailer
from tests.integration.engine.binding import AcceptEverything, binding_blueprint, keys_of
from tests.integration.engine.conftest import Engine
from tests.integration.engine.conftest import engine as engine

ZONED = {"status": "ok", "reference": "commercial", "message": ""}


class WorkerKilled(Exception):
    """Stands in for kill -9 at a chosen moment."""


def exchange(engine: Engine) -> FileDropConnector:
    """A fresh worker's view of the local administration's batch exchange (its own process
    state: nothing shared with another worker but the directory and the database)."""
    registry = build_connectors(
        load_departments(PROJECT_ROOT / "blueprints"), engine.container.settings, {}
    )
    connector = registry.connector("local-admin", "batch")
    assert isinstance(connector, FileDropConnector)
    return connector


@pytest.fixture
async def cases(engine: Engine) -> tuple[Engine, list[str]]:
    """Three binding-test cases whose zoning checks went out as signed request files."""
    connector = exchange(engine)
    others = AcceptEverything()

    class Gateway:
        async def call(self, call: CapabilityCall) -> CapabilityResult:
            if call.capability == "local-admin.zoning_check":
                return await connector.call(call)
            return await others.call(call)

    engine.runner.gateway = Gateway()
    await engine.publish(binding_blueprint())
    apps = [await engine.submit(service="binding-test") for _ in range(3)]
    await engine.drain()
    return engine, apps


def answer(connector: FileDropConnector, name: str, keys: list[str]) -> None:
    """The department's batch system leaves a signed response file."""
    rows = [{"idempotency_key": k, **ZONED} for k in keys]
    connector.outbound.mkdir(parents=True, exist_ok=True)
    data = with_trailer(render_csv(RESPONSE_HEADER, rows), connector.secret)
    (connector.outbound / name).write_bytes(data)


def handler_of(engine: Engine, verdicts: list[CompletionVerdict]) -> CompletionHandler:
    async def handle(completion: ExternalCompletion) -> CompletionVerdict:
        verdicts.append(await complete_external_step(engine.container, completion))
        return verdicts[-1]

    return handle


async def zoning_state(engine: Engine, app_id: str) -> str:
    async with engine.container.uow() as uow:
        task = await uow.session.scalar(
            select(TaskRow).where(TaskRow.application_id == app_id, TaskRow.step_id == "zoning")
        )
        assert task is not None
        return task.state


async def completions_recorded(engine: Engine, apps: list[str]) -> int:
    """How often any zoning step was recorded as done (the timeline line per completion)."""
    async with engine.container.uow() as uow:
        return int(
            await uow.session.scalar(
                select(func.count())
                .select_from(TimelineRow)
                .where(TimelineRow.event == "step.completed")
                .where(TimelineRow.step_id == "zoning")
                .where(TimelineRow.application_id.in_(apps))
            )
            or 0
        )


async def seen_keys(engine: Engine, apps: list[str]) -> list[str]:
    """The keys of these cases' steps in the database seen-set."""
    keys = [k for app in apps for k in (await keys_of(engine.container, app)).values()]
    async with engine.container.uow() as uow:
        rows = await uow.session.scalars(
            select(ConnectorBatchAnswerRow.idempotency_key).where(
                ConnectorBatchAnswerRow.idempotency_key.in_(keys)
            )
        )
        return sorted(rows)


async def test_a_worker_dying_before_the_engine_stored_the_answer_loses_nothing(
    cases: tuple[Engine, list[str]],
) -> None:
    engine, apps = cases
    key = (await keys_of(engine.container, apps[0]))["zoning"]
    first = exchange(engine)
    answer(first, "RSP_one.csv", [key])
    assert await zoning_state(engine, apps[0]) == "awaiting_external"

    async def killed(completion: ExternalCompletion) -> CompletionVerdict:
        raise WorkerKilled

    container = engine.container
    with pytest.raises(WorkerKilled):
        await collect_batch_answers(container.uow, container.clock, first, killed)
    # nothing was acknowledged: the file waits, no key is marked seen
    assert [p.name for p in first.outbound.iterdir()] == ["RSP_one.csv"]
    assert not (first.root / "consumed").exists()
    assert await seen_keys(engine, apps) == []
    assert await zoning_state(engine, apps[0]) == "awaiting_external"

    verdicts: list[CompletionVerdict] = []
    restarted = exchange(engine)
    handed = await collect_batch_answers(
        container.uow, container.clock, restarted, handler_of(engine, verdicts)
    )
    assert (handed, [v.accepted for v in verdicts]) == (1, [True])
    assert await zoning_state(engine, apps[0]) == "completed"
    assert [p.name for p in (first.root / "consumed").iterdir()] == ["RSP_one.csv"]
    assert list(first.outbound.iterdir()) == []
    assert await seen_keys(engine, apps) == [key]
    assert await collect_batch_answers(container.uow, container.clock, restarted, killed) == 0


async def test_a_worker_dying_after_the_commit_applies_the_answer_exactly_once(
    cases: tuple[Engine, list[str]],
) -> None:
    engine, apps = cases
    key = (await keys_of(engine.container, apps[0]))["zoning"]
    first = exchange(engine)
    answer(first, "RSP_one.csv", [key])
    container = engine.container

    async def stored_then_killed(completion: ExternalCompletion) -> CompletionVerdict:
        await complete_external_step(container, completion)
        raise WorkerKilled

    with pytest.raises(WorkerKilled):
        await collect_batch_answers(container.uow, container.clock, first, stored_then_killed)
    assert await zoning_state(engine, apps[0]) == "completed"
    assert [p.name for p in first.outbound.iterdir()] == ["RSP_one.csv"]  # not yet acknowledged

    verdicts: list[CompletionVerdict] = []
    await collect_batch_answers(
        container.uow, container.clock, exchange(engine), handler_of(engine, verdicts)
    )
    # handed over again, and the engine did not take it twice
    assert [str(v.refusal) for v in verdicts] == ["not-waiting"]
    assert await completions_recorded(engine, apps) == 1
    assert list(first.outbound.iterdir()) == []
    assert await seen_keys(engine, apps) == [key]


async def test_two_workers_racing_on_one_exchange_take_each_answer_once(
    cases: tuple[Engine, list[str]],
) -> None:
    engine, apps = cases
    keys = [(await keys_of(engine.container, app))["zoning"] for app in apps]
    one, two = exchange(engine), exchange(engine)
    answer(one, "RSP_a.csv", keys[:2])
    answer(one, "RSP_b.csv", keys[2:])
    answer(one, "RSP_c.csv", keys)  # the department sent everything again
    container = engine.container
    verdicts: list[CompletionVerdict] = []
    handle = handler_of(engine, verdicts)
    for _ in range(2):
        await asyncio.gather(
            collect_batch_answers(container.uow, container.clock, one, handle),
            collect_batch_answers(container.uow, container.clock, two, handle),
        )
    assert [await zoning_state(engine, app) for app in apps] == ["completed"] * 3
    assert await completions_recorded(engine, apps) == 3
    assert sum(v.accepted for v in verdicts) == 3
    assert list(one.outbound.iterdir()) == []
    consumed = sorted(p.name for p in (one.root / "consumed").iterdir())
    assert consumed == ["RSP_a.csv", "RSP_b.csv", "RSP_c.csv"]
    assert await seen_keys(engine, apps) == sorted(keys)


async def test_the_same_answer_delivered_twice_at_once_is_taken_once(
    cases: tuple[Engine, list[str]],
) -> None:
    """Two deliveries racing for one step (two workers, or a file and a callback): the second
    sees the first's result under the case lock (found on PostgreSQL by the race above: rows
    read before the lock were not read again, and the step was completed twice)."""
    engine, apps = cases
    key = (await keys_of(engine.container, apps[0]))["zoning"]
    answer_ = ExternalCompletion(key, {"allowed": True, "zone": "commercial"}, "local-admin")
    verdicts = await asyncio.gather(
        complete_external_step(engine.container, answer_),
        complete_external_step(engine.container, answer_),
    )
    assert sorted(str(v.refusal) for v in verdicts) == ["None", "not-waiting"]
    assert await completions_recorded(engine, apps) == 1
