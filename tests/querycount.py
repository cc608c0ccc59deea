"""Counting the SQL statements a block of code sends (query-count baselines)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from civicloom.runtime import Container


@contextmanager
def counting(container: Container) -> Iterator[list[str]]:
    """Collect every SQL query the app sends while the block runs (not BEGIN/COMMIT)."""
    statements: list[str] = []

    def record(*args: object) -> None:
        statement = str(args[2])
        if not statement.startswith("BEGIN"):  # transaction control, not a query
            statements.append(statement)

    engine = container.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
