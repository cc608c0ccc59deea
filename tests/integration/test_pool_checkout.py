"""A pooled connection is pinged before use only when it has sat idle in the pool (ADR 0078).

On a busy pool a checkout sends nothing before the unit of work's own statements; a connection
idle longer than the threshold is pinged, so after a PostgreSQL restart or failover the next
unit of work reconnects; a connection killed within the threshold costs one failed unit of
work, and the disconnect invalidates the whole pool so the next one reconnects.

The clock is injected: "idle" is moved forward by hand, nothing sleeps.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from civicloom.db.engine import Database
from civicloom.db.uow import UnitOfWork
from tests.conftest import _libpq_url

PING = ["BEGIN;", ";", "ROLLBACK;"]  # what SQLAlchemy's asyncpg ping sends (a transaction)


class Clock:
    """A monotonic clock moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _log_simple_queries(database: Database) -> list[str]:
    """Every statement asyncpg sends as a simple query on the pool's connections: the ping and
    transaction control (the ORM's own statements go through prepared statements, not
    logged here). asyncpg hands each record to the loop with ``call_soon``: read the list
    after ``await _flushed()``."""
    sent: list[str] = []

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(lambda q: sent.append(q.query))

    event.listen(database.engine.sync_engine, "connect", on_connect)
    return sent


async def _flushed() -> None:
    await asyncio.sleep(0)  # one loop turn: the query logger's call_soon callbacks run


async def _unit_of_work(database: Database) -> int:
    """One unit of work that commits; the server process id it ran on."""
    async with UnitOfWork(database) as uow:
        pid = int((await uow.session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        await uow.commit()
    return pid


async def _fill_pool(database: Database) -> set[int]:
    """Two connections in the pool (two units of work at once); their server process ids."""
    async with database.engine.connect() as a, database.engine.connect() as b:
        pids = {
            int((await a.execute(text("SELECT pg_backend_pid()"))).scalar_one()),
            int((await b.execute(text("SELECT pg_backend_pid()"))).scalar_one()),
        }
    assert database.engine.pool.checkedin() == 2  # type: ignore[attr-defined]
    return pids


def _terminate(url: str, pids: set[int]) -> None:
    """What a restart or failover does to a pooled connection: its server process is gone
    (``pg_terminate_backend`` with a timeout waits until it has exited)."""
    with psycopg.connect(_libpq_url(url), autocommit=True) as admin:
        for pid in sorted(pids):
            ended = admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone()
            assert ended == (True,)


@pytest.mark.postgres
async def test_a_busy_pool_hands_out_connections_without_a_ping(postgres_database: str) -> None:
    clock = Clock()
    database = Database(postgres_database, 2, ping_after_idle=1.0, clock=clock)
    sent = _log_simple_queries(database)
    try:
        for _ in range(3):
            await _unit_of_work(database)
            clock.now += 0.25  # back in use a quarter of a second later
        await _flushed()
        assert sent == ["BEGIN;", "COMMIT;"] * 3
        del sent[:]
        # Idle for longer than the threshold: pinged once, then used.
        clock.now += 1.0
        await _unit_of_work(database)
        await _flushed()
        assert sent == [*PING, "BEGIN;", "COMMIT;"]
    finally:
        await database.dispose()


@pytest.mark.postgres
async def test_after_a_restart_an_idle_pool_serves_the_next_unit_of_work(
    postgres_database: str,
) -> None:
    clock = Clock()
    database = Database(postgres_database, 2, ping_after_idle=1.0, clock=clock)
    try:
        old = await _fill_pool(database)
        _terminate(postgres_database, old)
        clock.now += 1.5  # the pool sat idle while the server went away
        first = await _unit_of_work(database)
        second = await _unit_of_work(database)
        assert first not in old
        assert second not in old
    finally:
        await database.dispose()


@pytest.mark.postgres
async def test_a_connection_killed_while_the_pool_was_busy_fails_one_unit_of_work(
    postgres_database: str,
) -> None:
    clock = Clock()
    database = Database(postgres_database, 2, ping_after_idle=1.0, clock=clock)
    try:
        old = await _fill_pool(database)
        _terminate(postgres_database, old)
        clock.now += 0.5  # within the threshold: not pinged, the first user finds out
        with pytest.raises(DBAPIError) as raised:
            await _unit_of_work(database)
        assert raised.value.connection_invalidated is True
        # The disconnect invalidated the pool: the other stale connection is not handed out.
        first = await _unit_of_work(database)
        second = await _unit_of_work(database)
        assert first not in old
        assert second not in old
    finally:
        await database.dispose()


async def test_sqlite_serves_units_of_work_busy_and_after_idling(tmp_path: Path) -> None:
    clock = Clock()
    database = Database(
        f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", ping_after_idle=1.0, clock=clock
    )
    try:
        for step in (0.25, 0.25, 5.0, 0.0):
            async with UnitOfWork(database) as uow:
                await uow.session.execute(text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))
                await uow.session.execute(text("INSERT INTO t VALUES (1)"))
                await uow.commit()
            clock.now += step
        async with UnitOfWork(database) as uow:
            assert (await uow.session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 4
    finally:
        await database.dispose()
