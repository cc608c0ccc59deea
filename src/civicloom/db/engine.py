"""The async engine and session factory; nothing connects at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
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


class Database:
    """An engine plus a session factory for one database URL."""

    def __init__(self, url: str, pool_size: int = 10) -> None:
        self.url = url
        self.is_postgresql = is_postgresql(url)
        # Errors and logs name the statement, never its bound values (application data).
        kwargs: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
        if self.is_postgresql:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size)
        else:
            database = make_url(url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
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
