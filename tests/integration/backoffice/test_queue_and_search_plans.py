"""The work queue's pages and the staff case search read through their indexes (issue 23,
ADR 0065): the plans, asked of the database itself. On a handful of rows a planner rightly
prefers a scan, so sequential scans (and, for the queue, sorts) are priced out first: what is
proven is that the statements' expressions match the indexes of migration 0035, which is what
lets the planner use them at volume (benchmarks/README.md has the timings)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ClauseElement, text
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.queries import queue_page_statement
from civicloom.applications.search import CaseSearchQuery, FieldMatch, search_statement
from civicloom.applications.views import DepartmentQueueQuery
from civicloom.kernel import Position
from civicloom.runtime import Container

NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


async def _plan(session: AsyncSession, statement: ClauseElement) -> str:
    dialect = session.get_bind().dialect
    sql = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN " if dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    rows = await session.execute(text(explain + sql))
    return "\n".join(str(row[-1]) for row in rows)


async def test_every_queue_page_reads_the_open_queue_index(container: Container) -> None:
    positions = [
        None,
        Position("after", NOW, "task-b"),
        Position("after", None, "task-d"),
        Position("before", NOW, "task-b"),
        Position("before", None, "task-d"),
    ]
    async with container.uow() as uow:
        session = uow.session
        postgres = session.get_bind().dialect.name == "postgresql"
        if postgres:
            await session.execute(text("SET LOCAL enable_seqscan = off"))
            await session.execute(text("SET LOCAL enable_sort = off"))
        for position in positions:
            query = DepartmentQueueQuery(department="environment", position=position)
            plan = await _plan(session, queue_page_statement(query, NOW))
            assert "ix_application_tasks_open_queue" in plan, (position, plan)
            if postgres:
                assert "Seq Scan" not in plan, (position, plan)


async def test_a_search_by_name_reads_the_trigram_indexes_on_postgresql(
    container: Container,
) -> None:
    query = CaseSearchQuery(
        "golden",
        None,  # an auditor's search (every case): on empty tables a department's scope is
        # cheaper to start from; at volume it is the answers' indexes (benchmarks/README.md)
        (
            FieldMatch("business_name", frozenset({"v1"})),
            FieldMatch("business_registration_number", frozenset({"v1"}), exact=True),
            FieldMatch("director_name", frozenset({"v1"})),
        ),
    )
    async with container.uow() as uow:
        session = uow.session
        if session.get_bind().dialect.name == "postgresql":
            # and the walk of the newest-first index that filters every row as it goes
            await session.execute(text("SET LOCAL enable_seqscan = off"))
            await session.execute(text("SET LOCAL enable_indexscan = off"))
            plan = await _plan(session, search_statement(query, "postgresql"))
            assert "BitmapOr" in plan, plan
            for index in (
                "ix_applications_business_name_trgm",
                "ix_applications_director_name_trgm",
                "ix_applications_business_registration_number_upper",
            ):
                assert index in plan, (index, plan)
        else:  # SQLite: plain LIKE over the applications (ADR 0065), the same answers
            plan = await _plan(session, search_statement(query, "sqlite"))
            assert "applications" in plan, plan
