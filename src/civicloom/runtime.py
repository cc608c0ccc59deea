"""The process-wide collaborators handed to every entry point (built by ``bootstrap``).

The container holds the core (settings, database, clock, metrics) and every runtime object a
process needs (capability gateway, documents runtime, payment provider, rule book, …) under a
typed ``Key``. Each key is declared by the module that owns the object's type, so a module low
in the layering can name a component without importing the module that builds it; only
``civicloom.bootstrap`` builds and ``provide``s them, once per process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.db import LENT, Database, UnitOfWork
from civicloom.kernel import Clock
from civicloom.observability import Metrics
from civicloom.settings import Settings

T = TypeVar("T")


class Key(Generic[T]):
    """The typed name of one runtime component (compared by identity)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Key({self.name!r})"


class NotWired(LookupError):
    """A component was asked for that the composition root did not build for this process."""


CLOCK: Key[Clock] = Key("clock")
"""The container's clock, as lent to a unit of work (``lent(session, CLOCK)``)."""


def lent(session: AsyncSession, key: Key[T]) -> T:
    """A component the container lent the unit of work ``session`` belongs to.

    The case engine's functions run inside a caller's transaction and take its session, not
    the container; what they need from the composition root comes with the session.
    ``NotWired`` if the session was not opened by a container's ``uow()`` or the container has
    no such component.
    """
    components = session.info.get(LENT)
    if components is None or key not in components:
        raise NotWired(f"{key.name} is not lent to this unit of work: open it with container.uow()")
    component: T = components[key]
    return component


@dataclass
class Container:
    """Settings, database, clock, metrics and the process's wired components."""

    settings: Settings
    database: Database
    clock: Clock
    metrics: Metrics
    _components: dict[Key[Any], Any] = field(default_factory=dict, repr=False)
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list, repr=False)

    def uow(self) -> UnitOfWork:
        """A fresh unit of work on the process's database; code running in its transaction
        reaches the container's components through ``lent`` (the case engine's rule book and
        holiday calendars, its clock)."""
        return UnitOfWork(self.database, lent={CLOCK: self.clock, **self._components})

    def provide(self, key: Key[T], component: T) -> None:
        """Wire a component (the composition root and tests only)."""
        self._components[key] = component

    def get(self, key: Key[T]) -> T:
        """The wired component; ``NotWired`` when this process has none."""
        try:
            component: T = self._components[key]
        except KeyError:
            raise NotWired(f"{key.name} is not wired: build it in civicloom.bootstrap") from None
        return component

    def find(self, key: Key[T]) -> T | None:
        """The wired component, or None when this process has none (an optional collaborator)."""
        found: T | None = self._components.get(key)
        return found

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Release this (a connector registry, a client) when the process stops."""
        self._closers.append(closer)

    async def close(self) -> None:
        """Release every registered resource, newest first (the database is disposed apart)."""
        while self._closers:
            await self._closers.pop()()
