"""No department call starts while the worker holds a database transaction (ADR 0038)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from civicloom.applications import OfficerDecision, StepRunner, decide_task
from civicloom.applications.tables import TaskRow
from civicloom.departments import CapabilityCall
from tests.integration.engine.conftest import OLIVIA, Engine, later
from tests.transactions import NoCallInTransaction, TransactionWatch


@pytest.fixture
def watch(engine: Engine) -> Iterator[TransactionWatch]:
    watching = TransactionWatch(engine.container.database.engine)
    yield watching
    watching.close()


async def test_the_watch_sees_a_call_made_inside_a_transaction(
    engine: Engine, watch: TransactionWatch
) -> None:
    guarded = NoCallInTransaction(engine.departments.gateway(), watch)
    call = CapabilityCall(
        department="tax",
        capability="tax.clearance_check",
        input={},
        idempotency_key="watch-self-test",
    )
    async with engine.container.uow() as uow:
        await uow.session.execute(select(TaskRow.id).limit(1))
        await guarded.call(call)
    await guarded.call(call)  # outside: fine
    assert len(guarded.violations) == 1
    assert "tax.clearance_check called in a transaction" in guarded.violations[0]


async def test_an_engine_run_calls_departments_outside_transactions(
    engine: Engine, watch: TransactionWatch
) -> None:
    guarded = NoCallInTransaction(engine.departments.gateway(), watch)
    engine.runner = StepRunner(engine.container, guarded)
    engine.departments.fail_times["tax.clearance_check"] = 1  # a retry round as well
    app_id = await engine.submit(seating=80)  # the inspection branch too
    await engine.drain()
    later(engine, 3)
    await engine.drain()
    async with engine.container.uow() as uow:
        tasks = {
            t.step_id: t
            for t in await uow.session.scalars(
                select(TaskRow).where(TaskRow.application_id == app_id)
            )
        }
    for step in ("inspection", "review"):
        await decide_task(
            engine.container.uow(),
            engine.clock,
            OLIVIA,
            tasks[step].id,
            OfficerDecision.APPROVE,
            None,
        )
        await engine.drain()
    assert sorted(guarded.calls) == [
        "environment.screening",
        "labour.register_employer",
        "local-admin.zoning_check",
        "tax.clearance_check",
        "tax.clearance_check",
    ]
    assert watch.began > 0
    assert guarded.violations == []
