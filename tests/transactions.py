"""No remote call inside a database transaction (ADR 0038): a gateway wrapper that notes every
department call started while the calling task holds an open transaction.

Transactions are tracked per asyncio task with SQLAlchemy's connection events (``begin``,
``commit``, ``rollback``), so concurrent work of other tasks (a sibling step's result being
recorded, a lease heartbeat) does not count against a call; the caller's own transaction does.
"""

from __future__ import annotations

import asyncio
import traceback
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from civicloom.departments import CapabilityCall, CapabilityGateway, CapabilityResult


class TransactionWatch:
    """Which asyncio task holds which connection's open transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.sync_engine
        self.open: dict[int, set[int]] = defaultdict(set)  # id(task) -> id(connection)
        self.began = 0
        event.listen(self.engine, "begin", self._begin)
        event.listen(self.engine, "commit", self._end)
        event.listen(self.engine, "rollback", self._end)

    @staticmethod
    def _task() -> int:
        try:
            return id(asyncio.current_task())
        except RuntimeError:
            return 0

    def _begin(self, conn: Connection) -> None:
        self.began += 1
        self.open[self._task()].add(id(conn))

    def _end(self, conn: Connection) -> None:
        for held in self.open.values():
            held.discard(id(conn))

    def held_here(self) -> int:
        """How many transactions the current task has open."""
        return len(self.open.get(self._task(), ()))

    def close(self) -> None:
        """Stop watching."""
        event.remove(self.engine, "begin", self._begin)
        event.remove(self.engine, "commit", self._end)
        event.remove(self.engine, "rollback", self._end)


@dataclass
class NoCallInTransaction:
    """A gateway that notes each call started inside an open transaction of its caller.

    (It notes rather than raises: callers such as the prefill swallow a register's errors.)"""

    inner: CapabilityGateway
    watch: TransactionWatch
    calls: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    async def call(self, call: CapabilityCall) -> CapabilityResult:
        self.calls.append(call.capability)
        if self.watch.held_here():
            where = "".join(traceback.format_stack()[-8:-1])
            self.violations.append(f"{call.capability} called in a transaction:\n{where}")
        return await self.inner.call(call)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
