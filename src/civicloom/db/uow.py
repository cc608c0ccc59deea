"""The unit of work: one transaction per use case, committed once by the service."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.db.engine import Database


class UnitOfWork:
    """Opens a session; the use case calls ``commit()`` once, anything else rolls back."""

    def __init__(self, database: Database, lent: Mapping[Any, Any] | None = None) -> None:
        self._database = database
        self._lent = lent
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        """The open session (only inside ``async with``)."""
        if self._session is None:
            raise RuntimeError("unit of work is not open")
        return self._session

    @property
    def is_postgresql(self) -> bool:
        """Whether row locks such as SKIP LOCKED are available."""
        return self._database.is_postgresql

    async def __aenter__(self) -> Self:
        self._session = self._database.sessions()
        if self._lent is not None:
            self._session.info[LENT] = self._lent
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._session is not None
        # close() rolls back anything uncommitted; unlike rollback() it leaves loaded objects
        # readable (detached) after the block.
        self._session.info.pop(_NOTIFY, None)
        try:
            await self._session.close()
        finally:
            self._session = None

    async def commit(self) -> None:
        """Commit the transaction (sending the notifications it asked for, on PostgreSQL)."""
        channels = self.session.info.pop(_NOTIFY, set())
        if channels and self.is_postgresql:
            for channel in sorted(channels):
                await self.session.execute(text("SELECT pg_notify(:c, '')"), {"c": channel})
        await self.session.commit()


_NOTIFY = "civicloom.notify_on_commit"
LENT = "civicloom.lent"
"""``session.info`` key of what the unit of work's owner lends code running in its transaction
(the container's components; read through ``civicloom.runtime.lent``)."""


def notify_on_commit(session: AsyncSession, channel: str) -> None:
    """Ask for a PostgreSQL NOTIFY on ``channel`` when the unit of work commits (once, however
    often it is asked); nothing happens on SQLite or if the transaction rolls back."""
    session.info.setdefault(_NOTIFY, set()).add(channel)
