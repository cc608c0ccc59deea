"""The process-wide collaborators handed to every entry point (built by ``bootstrap``)."""

from __future__ import annotations

from dataclasses import dataclass

from civicloom.db import Database, UnitOfWork
from civicloom.kernel import Clock
from civicloom.observability import Metrics
from civicloom.settings import Settings


@dataclass
class Container:
    """Settings, database, clock and metrics for one process."""

    settings: Settings
    database: Database
    clock: Clock
    metrics: Metrics

    def uow(self) -> UnitOfWork:
        """A fresh unit of work on the process's database."""
        return UnitOfWork(self.database)
