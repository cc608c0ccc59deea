"""One long case's timeline among many (issue 23, ADR 0075): what a status view costs in
PostgreSQL before and after paging, in buffers touched and rows read (counts, not affected by
other load) and in execution time.

A scratch database (``BENCH_TIMELINE_ADMIN_URL``, default ``CIVICLOOM_TEST_POSTGRES_URL``, is
the server; the database is created and dropped) is migrated to 0036 (before: the index on
``application_id`` alone) and filled with ``BENCH_TIMELINE_ROWS`` entries (default 400 000)
over 20 000 applications, one in 80 of them belonging to one long case (5 000 entries spread
through the table, as a case that ran for months is). Measured, each with
``EXPLAIN (ANALYZE, BUFFERS)`` as the median of 7 runs after a warm-up:

- before: the applicant's whole timeline, as the status read it (every visible entry, by id);
- the first page of the paged statement (``timeline_page_statement``) on the old index, for the
  long case and for a case decided long ago (200 entries, the table's first);
- after migrating to head (``ix_application_timeline_application_id_id``): the first page, a
  page 40 pages deep (from a cursor), the officer's first page and the old case's first page.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

# ruff: noqa: E402 - after the path set-up above
import psycopg
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url

from civicloom.applications import TimelineQuery
from civicloom.applications.queries import timeline_page_statement
from civicloom.applications.tables import TimelineRow
from civicloom.backoffice.queries import task_timeline
from civicloom.db.migrate import upgrade
from civicloom.kernel import Position
from civicloom.settings import Settings

ROWS = int(os.environ.get("BENCH_TIMELINE_ROWS", "400000"))
LONG = "long-case"
OLD = "old-case"  # 200 entries, the first in the table
RUNS = 7


def _sql(statement: Any) -> str:
    dialect = create_engine("postgresql+psycopg://").dialect  # compiles only, never connects
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _explain(conn: psycopg.Connection[Any], sql: str) -> tuple[float, int, int]:
    """Median execution ms, shared buffers touched, rows out of the top node."""
    conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")  # warm-up
    runs = []
    for _ in range(RUNS):
        row = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}").fetchone()
        assert row is not None
        plan = row[0][0] if isinstance(row[0], list) else json.loads(row[0])[0]
        top = plan["Plan"]
        buffers = int(top.get("Shared Hit Blocks", 0)) + int(top.get("Shared Read Blocks", 0))
        runs.append((float(plan["Execution Time"]), buffers, int(top["Actual Rows"])))
    return statistics.median(r[0] for r in runs), runs[-1][1], runs[-1][2]


def _fill(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SET session_replication_role = replica")  # no application rows: no FK checks
    conn.execute(  # a case decided long ago: its entries are the table's oldest
        """
        INSERT INTO application_timeline
            (application_id, at, event, step_id, department, message, visible_to_applicant)
        SELECT %(old)s, timestamptz '2026-01-04 09:00+00' + g * interval '1 second',
               'step.completed', 'inspection', 'environment', 'entry ' || g, true
        FROM generate_series(1, 200) AS g
        """,
        {"old": OLD},
    )
    conn.execute(
        """
        INSERT INTO application_timeline
            (application_id, at, event, step_id, department, message, visible_to_applicant)
        SELECT CASE WHEN g %% 80 = 0 THEN %(long)s ELSE 'app-' || (g %% 20000) END,
               timestamptz '2027-01-04 09:00+00' + g * interval '1 second',
               CASE WHEN g %% 4 = 0 THEN 'step.retried' ELSE 'information.requested' END,
               'inspection', CASE WHEN g %% 3 = 0 THEN 'labour' ELSE 'environment' END,
               'entry ' || g, g %% 7 <> 0
        FROM generate_series(1, %(rows)s) AS g
        """,
        {"long": LONG, "rows": ROWS},
    )
    conn.execute("SET session_replication_role = origin")
    conn.execute("VACUUM ANALYZE application_timeline")


def _show(name: str, figures: tuple[float, int, int], reference: tuple[float, int, int]) -> None:
    ms, buffers, rows = figures
    print(
        f"{name:52} {ms:8.3f} ms {buffers:6d} buffers {rows:5d} rows"
        f"   (× {ms / reference[0]:.3f} time, × {buffers / max(reference[1], 1):.3f} buffers)"
    )


def main() -> None:
    """Create, fill, measure before and after migration 0038, drop."""
    server = os.environ.get("BENCH_TIMELINE_ADMIN_URL") or os.environ.get(
        "CIVICLOOM_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    name = f"civicloom_bench_timeline_{uuid.uuid4().hex[:8]}"
    admin_url = make_url(server).set(drivername="postgresql")
    admin = psycopg.connect(admin_url.render_as_string(hide_password=False), autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name)
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    migrations = Settings().migrations_dir
    try:
        upgrade(migrations, url.render_as_string(hide_password=False), "0036")
        with psycopg.connect(libpq, autocommit=True) as conn:
            _fill(conn)
            total = conn.execute(
                "SELECT count(*) FILTER (WHERE visible_to_applicant), count(*) "
                "FROM application_timeline WHERE application_id = %s",
                (LONG,),
            ).fetchone()
            print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} (shared machine)")
            print(f"{ROWS} entries; the long case: {total} (seen by the applicant, all)")
            whole = _sql(
                select(TimelineRow)
                .where(
                    TimelineRow.application_id == LONG,
                    TimelineRow.visible_to_applicant.is_(True),
                )
                .order_by(TimelineRow.id)
            )
            applicant = TimelineQuery(LONG, applicant=True)
            before = _explain(conn, whole)
            _show("before: the whole visible timeline (0036)", before, before)
            _show(
                "first page, old index (0036)",
                _explain(conn, _sql(timeline_page_statement(applicant))),
                before,
            )
            _show(
                "an old case's first page, old index (0036)",
                _explain(conn, _sql(timeline_page_statement(TimelineQuery(OLD, applicant=True)))),
                before,
            )
        upgrade(migrations, url.render_as_string(hide_password=False), "head")
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute("ANALYZE application_timeline")
            deep_id = conn.execute(
                "SELECT id FROM application_timeline WHERE application_id = %s "
                "AND visible_to_applicant ORDER BY id DESC OFFSET 2000 LIMIT 1",
                (LONG,),
            ).fetchone()
            assert deep_id is not None
            deep = applicant.at(Position("after", None, str(deep_id[0])))
            pages = [
                ("after: applicant's first page (0038)", applicant),
                ("after: applicant's page 41 (from a cursor)", deep),
                ("after: environment officer's first page", task_timeline(LONG, "environment")),
                ("after: an old case's first page", TimelineQuery(OLD, applicant=True)),
            ]
            for label, query in pages:
                _show(label, _explain(conn, _sql(timeline_page_statement(query))), before)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    main()
