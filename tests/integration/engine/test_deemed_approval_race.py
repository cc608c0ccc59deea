"""A deemed approval (ADR 0053) and an officer deciding the same application at the same
moment, on PostgreSQL with real concurrency: two threads, each with its own event loop, engine
and connection, meet at a barrier just before each locks the application row. Exactly one
decides; the other gets a clear outcome (the sweep skips the locked application and finds it
decided next time; the officer is told the task was cancelled); the audit trail and the
timeline show one decision. Issue 18.

The two orders are also forced one way and the other (the second party waits until the first
holds the row lock), so both outcomes are proven every run, not only the one the race gives.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, select

from civicloom.applications import OfficerDecision, decide_task, sweep_slas
from civicloom.applications.tables import ApplicationRow, TaskRow, TimelineRow
from civicloom.audit.tables import AuditEntryRow
from civicloom.bootstrap import build_container
from civicloom.kernel import Conflict, FixedClock
from civicloom.settings import Settings
from tests.integration.engine.conftest import OLIVIA, Engine
from tests.integration.engine.conftest import engine as engine
from tests.integration.engine.test_deadline_passed import started

AFTER_DEADLINE = datetime(2026, 12, 29, 9, 1, tzinfo=UTC)  # the deadline is 29 Dec 09:00
LAW = "Licensing Act s. 12(4)"
REASON = "The premises have no fire exit"
DEEMED = f"deemed approved: no decision within the legal deadline ({LAW})"
TIMEOUT = 30.0  # every wait ends: a stuck thread fails the test instead of hanging it


@pytest.fixture
def backend() -> str:
    """Row locks and SKIP LOCKED are PostgreSQL's; SQLite has a single writer."""
    return "postgresql"


Hook = Callable[[], None]


def _locks_application(statement: str) -> bool:
    return "FOR UPDATE" in statement and "FROM applications" in statement


def in_thread(
    settings: Settings,
    action: Callable[[Any], Coroutine[Any, Any, str]],
    before_lock: Hook,
    after_lock: Hook,
) -> tuple[threading.Thread, list[str]]:
    """Run ``action(container)`` on its own thread, loop, engine and connection; the hooks run
    (blocking that thread only) around its first statement that locks the application."""
    result: list[str] = []

    def run() -> None:
        async def main() -> str:
            container = build_container(settings)
            container.clock = FixedClock(AFTER_DEADLINE)
            seen = {"lock": False}
            sync_engine = container.database.engine.sync_engine

            @event.listens_for(sync_engine, "before_cursor_execute")
            def before(*args: Any) -> None:
                if not seen["lock"] and _locks_application(args[2]):
                    before_lock()

            @event.listens_for(sync_engine, "after_cursor_execute")
            def after(*args: Any) -> None:
                if not seen["lock"] and _locks_application(args[2]):
                    seen["lock"] = True
                    after_lock()

            try:
                return await action(container)
            finally:
                await container.close()
                await container.database.dispose()

        try:
            result.append(asyncio.run(main()))
        except BaseException as exc:  # reported by the test, not lost in the thread
            result.append(f"raised {type(exc).__name__}: {exc}")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


async def officer_rejects(container: Any, task_id: str) -> str:
    try:
        await decide_task(
            container.uow(), container.clock, OLIVIA, task_id, OfficerDecision.REJECT, REASON
        )
    except Conflict as exc:
        return f"conflict: {exc}"
    return "decided"


async def sweep(container: Any) -> str:
    await sweep_slas(container.uow(), AFTER_DEADLINE)
    return "swept"


async def trail(engine: Engine, app_id: str) -> tuple[str, str | None, list[str], list[str]]:
    """The application's state and reason, its audit actions and its timeline kinds."""
    async with engine.container.uow() as uow:
        app = await uow.session.get(ApplicationRow, app_id)
        assert app is not None
        actions = list(
            await uow.session.scalars(
                select(AuditEntryRow.action)
                .where(AuditEntryRow.subject_id == app_id)
                .order_by(AuditEntryRow.position)
            )
        )
        kinds = list(
            await uow.session.scalars(
                select(TimelineRow.event)
                .where(TimelineRow.application_id == app_id)
                .order_by(TimelineRow.id)
            )
        )
        return app.state, app.outcome_reason, actions, kinds


async def review_task(engine: Engine, app_id: str) -> str:
    async with engine.container.uow() as uow:
        task = await uow.session.scalar(
            select(TaskRow).where(TaskRow.application_id == app_id, TaskRow.step_id == "review")
        )
        assert task is not None
        return task.id


def decisions(actions: list[str]) -> list[str]:
    return [a for a in actions if a in DECIDING]


DECIDING = {"application.approved", "application.rejected", "task.rejected", "task.approved"}
OFFICER_WON = ("rejected", REASON, ["task.rejected", "application.rejected"])
SWEEP_WON = ("approved", DEEMED, ["application.approved"])


def run_pair(engine: Engine, task_id: str, first: str | None) -> tuple[list[str], list[str]]:
    """The officer and the sweep at once. ``first`` names who locks first (the other waits
    until it holds the lock); ``None`` lets them race from a barrier."""
    settings = engine.container.settings
    barrier = threading.Barrier(2, timeout=TIMEOUT)
    locked = {"officer": threading.Event(), "sweep": threading.Event()}

    def before(other: str) -> Hook:
        def hook() -> None:
            if first is None:
                barrier.wait()
            elif first == other:
                assert locked[other].wait(TIMEOUT), f"{other} never locked"

        return hook

    officer, officer_result = in_thread(
        settings,
        lambda c: officer_rejects(c, task_id),
        before("sweep"),
        locked["officer"].set,
    )
    swept, sweep_result = in_thread(settings, sweep, before("officer"), locked["sweep"].set)
    officer.join(TIMEOUT)
    swept.join(TIMEOUT)
    assert not officer.is_alive(), "the officer never finished"
    assert not swept.is_alive(), "the sweep never finished"
    return officer_result, sweep_result


async def test_the_officer_first_decides_and_the_sweep_skips_it(engine: Engine) -> None:
    app_id = await started(engine, {"action": "deemed_approval", "reason": LAW})
    task_id = await review_task(engine, app_id)
    officer, swept = await asyncio.to_thread(run_pair, engine, task_id, "officer")
    assert (officer, swept) == (["decided"], ["swept"])
    await sweep_slas(engine.container.uow(), AFTER_DEADLINE)  # the next sweep: already decided
    state, reason, actions, kinds = await trail(engine, app_id)
    assert (state, reason, decisions(actions)) == OFFICER_WON
    assert "application.deadline_passed" not in actions
    assert kinds.count("application.rejected") == 1
    assert "application.approved" not in kinds


async def test_the_sweep_first_deems_approval_and_the_officer_is_told(engine: Engine) -> None:
    app_id = await started(engine, {"action": "deemed_approval", "reason": LAW})
    task_id = await review_task(engine, app_id)
    officer, swept = await asyncio.to_thread(run_pair, engine, task_id, "sweep")
    assert (officer, swept) == (
        ["conflict: the task is cancelled, not awaiting an officer"],
        ["swept"],
    )
    state, reason, actions, kinds = await trail(engine, app_id)
    assert (state, reason, decisions(actions)) == SWEEP_WON
    assert kinds.count("application.approved") == 1
    assert "application.rejected" not in kinds


async def test_racing_from_a_barrier_exactly_one_decides(engine: Engine) -> None:
    """Four races, each over a new application (the earlier ones are decided by then, so
    each sweep has exactly the racing application to act on)."""
    winners = []
    for n in range(4):
        if n == 0:
            app_id = await started(engine, {"action": "deemed_approval", "reason": LAW})
        else:
            app_id = await engine.submit()
            await engine.drain()
        task_id = await review_task(engine, app_id)
        officer, swept = await asyncio.to_thread(run_pair, engine, task_id, None)
        await sweep_slas(engine.container.uow(), AFTER_DEADLINE)  # whatever was skipped
        state, reason, actions, kinds = await trail(engine, app_id)
        assert swept == ["swept"]
        if officer == ["decided"]:
            assert (state, reason, decisions(actions)) == OFFICER_WON
            winners.append("officer")
        else:
            assert officer == ["conflict: the task is cancelled, not awaiting an officer"]
            assert (state, reason, decisions(actions)) == SWEEP_WON
            winners.append("sweep")
        assert kinds.count("application.approved") + kinds.count("application.rejected") == 1
    assert len(winners) == 4  # (who wins each race is the database's choice, not asserted)
