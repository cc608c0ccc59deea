"""Failure paths of the worker (issue 18): a result that cannot be recorded is an attempt and
ends in a dead letter; leases are per call and renewed while the call is in flight; a call whose
lease was lost never overwrites the new owner's result; every round counts."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from civicloom.applications import StepRunner, list_dead_letters
from civicloom.applications.tables import TaskRow, TimelineRow
from civicloom.catalogue import Blueprint, RetryPolicy
from civicloom.departments import CallOutcome, CapabilityCall, CapabilityResult
from tests.integration.engine.binding import keys_of
from tests.integration.engine.conftest import PRIYA, Engine, engine_blueprint, later


def with_step(blueprint: Blueprint, step_id: str, **changes: Any) -> Blueprint:
    """The blueprint with one step changed (e.g. a poison condition)."""
    steps = [s.model_copy(update=changes) if s.id == step_id else s for s in blueprint.steps]
    return blueprint.model_copy(update={"steps": steps})


async def task_row(engine: Engine, app_id: str, step: str) -> TaskRow:
    async with engine.container.uow() as uow:
        row = await uow.session.scalar(
            select(TaskRow).where(TaskRow.application_id == app_id, TaskRow.step_id == step)
        )
        assert row is not None
        return row


async def test_a_reject_when_that_fails_at_run_time_ends_in_a_dead_letter(engine: Engine) -> None:
    # zoning answers {"zone": "commercial"}: number() of it fails when the result is recorded
    poison = "number(steps.zoning.output.zone) > 3"
    await engine.publish(with_step(engine_blueprint(version=2), "zoning", reject_when=poison))
    app_id = await engine.submit()
    for _ in range(10):  # ten worker cycles, each past the step's back-off
        await engine.drain()
        later(engine, 3)
    zoning = await task_row(engine, app_id, "zoning")
    key = (await keys_of(engine.container, app_id))["zoning"]
    assert engine.departments.applied[key] == 3  # not 10: max_attempts is 3
    assert (zoning.state, zoning.attempts, zoning.lease_owner) == ("failed", 3, None)
    letters = await list_dead_letters(engine.container.uow(), PRIYA)
    assert [(d.application_id, d.department, d.attempts) for d in letters] == [
        (app_id, "local-admin", 3)
    ]
    assert "'zoning'" in letters[0].error
    assert "'number(steps.zoning.output.zone) > 3'" in letters[0].error
    assert "zoning.reject_when" in letters[0].error
    assert "stack backtrace" not in letters[0].error.lower()
    # the results recorded beside it (in the same batch) are not held hostage
    assert (await task_row(engine, app_id, "tax")).state == "completed"
    assert (await task_row(engine, app_id, "labour")).state == "completed"


async def test_a_successors_when_that_fails_dead_letters_the_step_it_follows(
    engine: Engine,
) -> None:
    poison = "number(steps.environment.output.outcome) > 1"
    blueprint = with_step(engine_blueprint(version=2), "inspection", when=poison)
    retry = RetryPolicy(max_attempts=2, initial_seconds=1, max_seconds=2)
    await engine.publish(with_step(blueprint, "environment", retry=retry))
    app_id = await engine.submit()
    for _ in range(10):
        await engine.drain()
        later(engine, 3)
    environment = await task_row(engine, app_id, "environment")
    key = (await keys_of(engine.container, app_id))["environment"]
    assert engine.departments.applied[key] == 2
    assert (environment.state, environment.attempts) == ("failed", 2)
    assert environment.last_error is not None
    assert "'environment'" in environment.last_error
    assert "inspection.when" in environment.last_error
    assert (await task_row(engine, app_id, "inspection")).state == "waiting"


class SlowTax:
    """A department whose first tax clearance call hangs until released; other calls answer
    at once. Counts every call by idempotency key."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.calls: Counter[str] = Counter()
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.hung = 0

    async def call(self, call: CapabilityCall) -> CapabilityResult:
        self.calls[call.idempotency_key] += 1
        if call.capability == "tax.clearance_check":
            self.hung += 1
            answer = "first" if self.hung == 1 else f"call-{self.hung}"
            if self.hung == 1:
                self.entered.set()
                await self.release.wait()
            return CapabilityResult(
                outcome=CallOutcome.COMPLETED, output={"status": "cleared", "by": answer}
            )
        return await self.engine.departments.gateway().call(call)


class Ticker:
    """The heartbeat's sleep, ticked by the test instead of by time."""

    def __init__(self) -> None:
        self.sleeping: asyncio.Queue[asyncio.Future[None]] = asyncio.Queue()

    async def sleep(self, seconds: float) -> None:
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self.sleeping.put(wake)
        await wake

    async def tick(self) -> None:
        """Let the heartbeat beat once, and wait until it is asleep again."""
        (await self.sleeping.get()).set_result(None)
        await self.sleeping.put(await self.sleeping.get())


async def test_a_slow_call_keeps_its_lease_and_no_answered_call_is_repeated(
    engine: Engine,
) -> None:
    slow, ticker = SlowTax(engine), Ticker()
    first = StepRunner(engine.container, slow, sleep=ticker.sleep)
    other = StepRunner(engine.container, slow)
    app_id = await engine.submit()
    running = asyncio.create_task(first.run_once("worker-a"))
    await asyncio.wait_for(slow.entered.wait(), 10)
    later(engine, 25)
    await asyncio.wait_for(ticker.tick(), 10)  # the heartbeat renews the slow call's lease
    later(engine, 25)  # 50 s after the claim: a batch lease of 30 s would have run out
    await other.run_once("worker-b")  # takes over what worker-a has not started, if anything
    slow.release.set()
    assert await asyncio.wait_for(running, 10) >= 1
    await engine.drain()
    by_step = await keys_of(engine.container, app_id)
    keys = {by_step[s] for s in ("zoning", "tax", "environment", "labour")}
    assert {k: slow.calls[k] for k in keys} == dict.fromkeys(keys, 1)  # each called once
    tax = await task_row(engine, app_id, "tax")
    assert (tax.state, tax.attempts, tax.output) == (
        "completed",
        1,
        {"status": "cleared", "by": "first"},
    )
    assert (await task_row(engine, app_id, "review")).state == "awaiting_officer"


async def test_a_call_whose_lease_was_lost_does_not_overwrite_the_new_owners_result(
    engine: Engine,
) -> None:
    slow = SlowTax(engine)
    ticker = Ticker()  # never ticked: worker-a hangs like a paused process
    first = StepRunner(engine.container, slow, sleep=ticker.sleep)
    other = StepRunner(engine.container, slow)
    app_id = await engine.submit()
    running = asyncio.create_task(first.run_once("worker-a"))
    await asyncio.wait_for(slow.entered.wait(), 10)
    later(engine, 31)
    await other.run_once("worker-b")
    tax = await task_row(engine, app_id, "tax")
    assert (tax.state, tax.attempts, tax.output) == (
        "completed",
        2,
        {"status": "cleared", "by": "call-2"},
    )
    slow.release.set()  # worker-a's late answer arrives
    await asyncio.wait_for(running, 10)
    tax = await task_row(engine, app_id, "tax")
    assert (tax.state, tax.attempts, tax.output) == (
        "completed",
        2,
        {"status": "cleared", "by": "call-2"},
    )
    async with engine.container.uow() as uow:
        done = list(
            await uow.session.scalars(
                select(TimelineRow.message).where(
                    TimelineRow.application_id == app_id, TimelineRow.step_id == "tax"
                )
            )
        )
    assert done == ["tax: tax done"]


async def test_every_round_counts_so_workers_that_keep_dying_end_in_a_dead_letter(
    engine: Engine,
) -> None:
    slow = SlowTax(engine)
    app_id = await engine.submit()
    for round_ in range(3):  # three workers, each killed while the tax office is slow
        slow.entered.clear()
        slow.hung = 0
        ticker = Ticker()
        runner = StepRunner(engine.container, slow, sleep=ticker.sleep)
        running = asyncio.create_task(runner.run_once(f"doomed-{round_}"))
        await asyncio.wait_for(slow.entered.wait(), 10)
        running.cancel()  # kill -9: no heartbeat, no record
        await asyncio.gather(running, return_exceptions=True)
        later(engine, 31)
    await engine.drain()
    tax = await task_row(engine, app_id, "tax")
    assert (
        slow.calls[(await keys_of(engine.container, app_id))["tax"]] == 3
    )  # no fourth call: max_attempts is 3
    assert (tax.state, tax.attempts) == ("failed", 3)
    letters = {d.department: d for d in await list_dead_letters(engine.container.uow(), PRIYA)}
    assert letters["tax"].attempts == 3
    assert "'tax': no outcome was recorded in 3 attempts" in letters["tax"].error


async def test_a_connection_dropped_while_recording_is_not_a_failed_attempt(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A pooled connection the server dropped (a restart, a failover; ADR 0078) reaches the
    # first outcome recorded on its own: it is recorded again on a new connection, not turned
    # into a failed attempt that calls the department a second time.
    real = StepRunner._record_many
    dropped: list[str] = []  # the steps of each record that found its connection dropped

    async def first_records_dropped(
        self: StepRunner, worker_id: str, batch: list[tuple[Any, Any]]
    ) -> None:
        # the first batch (if outcomes came together) and the first single record both meet
        # a dropped connection: a failed batch is recorded step by step, as one would be
        single = len(batch) == 1
        if not any((len(d.split(",")) == 1) == single for d in dropped):
            dropped.append(",".join(step.step_id for step, _ in batch))
            raise DBAPIError(
                "COMMIT", None, ConnectionResetError("connection was closed"), False, True
            )
        await real(self, worker_id, batch)

    monkeypatch.setattr(StepRunner, "_record_many", first_records_dropped)
    app_id = await engine.submit()
    await engine.drain()

    assert any("," not in d for d in dropped), dropped  # a single record met it
    by_step = await keys_of(engine.container, app_id)
    for step in ("zoning", "tax", "environment", "labour"):
        assert engine.departments.applied[by_step[step]] == 1, step
        task = await task_row(engine, app_id, step)
        assert (task.state, task.attempts, task.last_error) == ("completed", 1, None), step
    assert (await task_row(engine, app_id, "review")).state == "awaiting_officer"
