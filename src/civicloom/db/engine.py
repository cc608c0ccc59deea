"""The async engine and session factory; nothing connects at import time."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def is_postgresql(url: str) -> bool:
    """Whether a database URL points at PostgreSQL."""
    return make_url(url).get_backend_name() == "postgresql"


def libpq_dsn(url: str) -> str:
    """A PostgreSQL URL as a libpq/asyncpg connection string, for connections opened beside
    the engine (LISTEN): the several ``host=`` query parameters of a failover URL (ADR 0060)
    become libpq's ``host1:port1,host2:port2`` list, other parameters such as
    ``target_session_attrs`` stay."""
    parsed = make_url(url)
    hosts = parsed.query.get("host")
    plain = parsed.set(drivername="postgresql")
    if not hosts:
        return plain.render_as_string(hide_password=False)
    listed = ",".join([hosts] if isinstance(hosts, str) else hosts)
    rest = {k: v for k, v in parsed.query.items() if k != "host"}
    base = plain.set(host=None, port=None, query=rest).render_as_string(hide_password=False)
    scheme, after = base.split("://", 1)
    credentials, path = after.split("@", 1) if "@" in after else ("", after)
    return f"{scheme}://{credentials + '@' if credentials else ''}{listed}{path}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is switched off so that ``_begin_immediate`` can
    # start every transaction itself (SQLAlchemy's documented pysqlite/aiosqlite recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; busy_timeout makes writers queue, not fail.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_immediate(conn: Any) -> None:
    # One writer at a time on SQLite: a transaction takes the write lock when it starts, so two
    # processes (API and worker) never both read a chain head and then both append after it.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


PING_AFTER_IDLE = 1.0
"""Seconds a connection may sit in the pool and still be handed out without a ping (ADR 0078)."""

_RETURNED_AT = "civicloom.returned_at"  # connection-record info key: when it last went idle


class _PingWhenIdle:
    """Pool events: ping a connection on checkout only if it sat idle in the pool for
    ``after`` seconds or more (ADR 0078). SQLAlchemy's ``pool_pre_ping`` pings on every
    checkout (on asyncpg a BEGIN, an empty query and a ROLLBACK: three round trips); a
    connection that was in use a moment ago is dead only if it was cut in that moment (a
    restart or failover also fails the statements in flight then). One that slips through
    fails its unit of work with a disconnect error, and SQLAlchemy then invalidates the whole
    pool, so the next unit of work reconnects."""

    def __init__(self, dialect: Dialect, after: float, clock: Callable[[], float]) -> None:
        self._dialect = dialect
        self._after = after
        self._clock = clock

    def went_idle(self, _dbapi_connection: Any, record: Any) -> None:
        # "connect" (a new connection counts as just used) and "checkin".
        record.info[_RETURNED_AT] = self._clock()

    def checkout(self, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is not None and self._clock() - returned_at < self._after:
            return
        try:
            self._dialect.do_ping(dbapi_connection)
        except self._dialect.loaded_dbapi.Error as error:
            if not self._dialect.is_disconnect(error, dbapi_connection, None):
                raise
            # As pool_pre_ping does: every connection older than now is replaced on its next
            # checkout, and the pool retries this one with a new connection.
            raise exc.InvalidatePoolError() from error


class Database:
    """An engine plus a session factory for one database URL."""

    def __init__(
        self,
        url: str,
        pool_size: int = 10,
        *,
        ping_after_idle: float = PING_AFTER_IDLE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.is_postgresql = is_postgresql(url)
        # Errors and logs name the statement, never its bound values (application data).
        kwargs: dict[str, Any] = {"hide_parameters": True}
        if self.is_postgresql:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size)
        else:
            database = make_url(url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        pings = _PingWhenIdle(self.engine.dialect, ping_after_idle, clock)
        event.listen(self.engine.sync_engine, "connect", pings.went_idle)
        event.listen(self.engine.sync_engine, "checkin", pings.went_idle)
        event.listen(self.engine.sync_engine, "checkout", pings.checkout)
        if not self.is_postgresql:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _begin_immediate)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session that rolls back whatever was not committed."""
        async with self.sessions() as session:
            try:
                yield session
            finally:
                await session.rollback()

    async def ping(self) -> None:
        """Raise unless the database answers a trivial query."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
