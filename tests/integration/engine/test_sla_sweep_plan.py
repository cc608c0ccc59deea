"""The SLA sweep reads open steps through partial indexes (issue 23: at 925,000 applications it
scanned 6.5 M finished tasks in due-date order, about 20 s every 30 s).

The plan is PostgreSQL's answer for the sweep's own statements; the index names are written by
hand from the migration.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Select, text
from sqlalchemy.dialects import postgresql

from civicloom.applications.sla import overdue_query, reminder_query
from civicloom.runtime import Container

NOW = datetime(2027, 1, 20, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    ("query", "index"),
    [
        (overdue_query, "ix_application_tasks_sla_overdue"),
        (reminder_query, "ix_application_tasks_sla_remind"),
    ],
)
async def test_each_sweep_statement_reads_its_partial_index(
    container: Container, query: Callable[..., Select[Any]], index: str
) -> None:
    async with container.uow() as uow:
        session = uow.session
        statement = query(session, NOW, 200)
        dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
        sql = statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        await session.execute(text("SET LOCAL enable_bitmapscan = off"))
        plan = "\n".join(str(r[0]) for r in await session.execute(text(f"EXPLAIN {sql}")))
    assert index in plan, plan
