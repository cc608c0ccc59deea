"""Funding statements from the daily fact table, against a plain ``SELECT count(*)``.

On a scratch PostgreSQL database: ``BENCH_FUND_APPS`` applications (default 1 000 000) are
seeded with one ``INSERT … SELECT generate_series`` over a financial year, and the fact table
is seeded with the rows the worker would build for them (every day × department × service ×
meter). Then every department's statement for every month of the year is computed from the
fact table and rendered as CSV and PDF. The reference, in the same run, is ``SELECT count(*)``
over the applications table. It prints seconds per statement, the reference's seconds and the
ratio. Goal: under 1 s per statement. ``BENCH_POSTGRES_URL`` as ``bench_engine.py``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

# ruff: noqa: E402 - after the path set-up above
from sqlalchemy import text

from benchmarks.bench_engine import create_database, drop_database
from civicloom.bootstrap import build_container
from civicloom.db.migrate import upgrade
from civicloom.demo import load_demo
from civicloom.funding import Meter, Month, load_tariffs, render_statement_pdf, statements, to_csv
from civicloom.settings import Profile, Settings

APPS = int(os.environ.get("BENCH_FUND_APPS", "1000000"))
YEAR = "2026-27"
SERVICES = 5  # open-a-restaurant and four seeded neighbours
METERS = tuple(m.value for m in Meter)  # every meter, one fact row per cell (detail "")


async def run(url: str, var_dir: Path) -> None:
    """Seed, then time the statements against the reference."""
    settings = Settings(profile=Profile.TEST, database_url=url, var_dir=var_dir)
    container = build_container(settings)
    await load_demo(container, progress=lambda _: None)
    tariffs = load_tariffs(settings.blueprints_dir)
    tariff = tariffs.years[YEAR]
    days = tariff.days
    started = time.monotonic()
    async with container.uow() as uow:
        run_sql = uow.session.execute
        (version, number) = (
            await run_sql(text("SELECT id, version FROM blueprint_versions LIMIT 1"))
        ).one()
        await run_sql(
            text(
                "INSERT INTO applications (id, reference, service_id, blueprint_version_id, "
                "blueprint_version, applicant_id, state, data, request_hash, submitted_at, "
                "updated_at) SELECT md5(g::text), 'B-' || g, 'open-a-restaurant', :version, "
                ":number, 'bench', 'approved', '{}', '', "
                "CAST(:start AS timestamptz) + (g % :days) * interval '1 day', now() "
                "FROM generate_series(1, :n) g"
            ),
            {"version": version, "number": number, "start": tariff.starts, "days": days, "n": APPS},
        )
        per_cell = max(1, APPS // (days * SERVICES * len(tariff.departments)))
        await run_sql(
            text(
                "INSERT INTO funding_usage_facts (day, department, service, meter, detail, "
                "quantity, amount_minor) SELECT CAST(:start AS date) + d, dept, 'service-' || s, "
                "meter, '', "
                "CAST(:q AS bigint), "
                "CASE WHEN meter = 'payments' THEN CAST(:q AS bigint) * 25000 ELSE 0 END "
                "FROM generate_series(0, :days - 1) d, unnest(CAST(:depts AS text[])) dept, "
                "generate_series(1, :services) s, unnest(CAST(:meters AS text[])) meter"
            ),
            {
                "start": tariff.starts,
                "days": days,
                "depts": tariff.departments,
                "services": SERVICES,
                "meters": list(METERS),
                "q": per_cell,
            },
        )
        await uow.commit()
    async with container.uow() as uow:
        await uow.session.execute(text("ANALYZE"))
        facts = (await uow.session.execute(text("SELECT count(*) FROM funding_usage_facts"))).one()
    print(
        f"seeded {APPS} applications and {facts[0]} fact rows in {time.monotonic() - started:.1f} s"
    )

    started = time.monotonic()
    async with container.uow() as uow:
        (count,) = (await uow.session.execute(text("SELECT count(*) FROM applications"))).one()
    reference = time.monotonic() - started
    assert count >= APPS

    months = []
    at = tariff.starts
    while at <= tariff.ends:
        months.append(Month.of(at))
        at = Month.of(at).after
    started = time.monotonic()
    rendered = 0
    slowest = 0.0
    for month in months:
        for dept in tariff.departments:
            one = time.monotonic()
            (statement,) = await statements(container.uow(), tariffs, month, [dept], tariff.ends)
            to_csv(statement)
            render_statement_pdf(statement, lambda s: s)
            slowest = max(slowest, time.monotonic() - one)
            rendered += 1
    total = time.monotonic() - started
    per = total / rendered
    print(f"statements: {rendered} (12 months x {len(tariff.departments)} departments)")
    print(f"per statement: {per * 1000:.1f} ms (slowest {slowest * 1000:.1f} ms)")
    print(f"reference SELECT count(*) over {count} applications: {reference * 1000:.1f} ms")
    print(f"ratio per statement / count(*): {per / reference:.3f}")
    print("goal: under 1 s per statement:", "met" if slowest < 1.0 else "NOT met")
    await container.close()
    await container.database.dispose()


def main() -> None:
    """Run on a scratch database and drop it afterwards."""
    name = f"bench_fund_{uuid.uuid4().hex[:6]}"
    url = create_database(name)
    try:
        upgrade(Settings().migrations_dir, url)
        with tempfile.TemporaryDirectory() as var_dir:
            asyncio.run(run(url, Path(var_dir)))
    finally:
        drop_database(name)


if __name__ == "__main__":
    main()
