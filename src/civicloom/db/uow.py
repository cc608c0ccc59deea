"""The unit of work: one transaction per use case, committed once by the service."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.db.engine import Database


class UnitOfWork:
    """Opens a session; the use case calls ``commit()`` once, anything else rolls back."""

    def __init__(self, database: Database) -> None:
        self._database = database
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
        try:
            await self._session.close()
        finally:
            self._session = None

    async def commit(self) -> None:
        """Commit the transaction."""
        await self.session.commit()
