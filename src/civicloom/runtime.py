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

from civicloom.db import Database, UnitOfWork
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
        """A fresh unit of work on the process's database."""
        return UnitOfWork(self.database)

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
