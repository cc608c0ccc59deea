"""Case-engine throughput on PostgreSQL (and SQLite), against pgbench on the same machine.

Runs, in one go:
1. ``pgbench -b simple-update`` for 20 s on a scratch database: the machine's reference TPS.
2. The engine on a blueprint of four parallel automated steps with in-process no-op
   capabilities: N applications submitted up front, W concurrent step runners draining them.
Prints applications/s, steps/s, p50/p99 submission-to-decision, steps/s ÷ pgbench TPS
(goal ≥ 0.25), the SQLite embedded figure and the process's peak RSS.

Environment: BENCH_APPS (default 2000), BENCH_RUNNERS (4), BENCH_PGBENCH_SECONDS (20),
BENCH_POSTGRES_URL (postgresql+asyncpg://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url

from civicloom.applications import StepRunner, SubmitApplication, submit_application
from civicloom.applications.tables import ApplicationRow
from civicloom.bootstrap import build_container
from civicloom.catalogue import Blueprint, publish_blueprint
from civicloom.db.migrate import upgrade
from civicloom.demo import load_demo
from civicloom.departments import CapabilityCall, InProcessGateway
from civicloom.kernel import Principal
from civicloom.settings import Profile, Settings

APPS = int(os.environ.get("BENCH_APPS", "2000"))
RUNNERS = int(os.environ.get("BENCH_RUNNERS", "4"))
PGBENCH_SECONDS = int(os.environ.get("BENCH_PGBENCH_SECONDS", "20"))
ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
STEPS_PER_APP = 4
APPLICANT = Principal(
    subject="bench", display_name="Bench", roles=frozenset({"citizen"}), authenticated_by="bench"
)


def libpq(url: str) -> str:
    """A libpq URL from a SQLAlchemy one."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_database(name: str) -> str:
    """Create a scratch PostgreSQL database and return its SQLAlchemy URL."""
    with psycopg.connect(libpq(ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(name: str) -> None:
    """Drop a scratch database."""
    with psycopg.connect(libpq(ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pgbench_tps() -> float:
    """pgbench simple-update TPS on a scratch database (the reference)."""
    name = f"bench_pgbench_{uuid.uuid4().hex[:6]}"
    url = make_url(create_database(name))
    args = [
        "-h",
        url.host or "127.0.0.1",
        "-p",
        str(url.port or 5432),
        "-U",
        url.username or "postgres",
    ]
    try:
        subprocess.run(["pgbench", "-i", "-q", *args, name], check=True, capture_output=True)
        out = subprocess.run(
            [
                "pgbench",
                "-b",
                "simple-update",
                "-c",
                "4",
                "-j",
                "2",
                "-T",
                str(PGBENCH_SECONDS),
                *args,
                name,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        drop_database(name)
    match = re.search(r"tps = ([0-9.]+)", out)
    assert match, out
    return float(match.group(1))


def blueprint() -> Blueprint:
    """Four parallel automated steps."""
    return Blueprint.model_validate(
        {
            "id": "bench-four-steps",
            "version": 1,
            "owner": "local-admin",
            "reference_prefix": "BEN",
            "title": {"en": "Benchmark", "zh-Hans": "基准"},
            "form": {"schema": {"type": "object", "properties": {"n": {"type": "integer"}}}},
            "steps": [
                {"id": f"s{i}", "kind": "automated", "department": "tax", "capability": f"noop.{i}"}
                for i in range(STEPS_PER_APP)
            ],
        }
    )


async def noop(call: CapabilityCall) -> dict[str, Any]:
    """A capability that does nothing."""
    return {"ok": True}


async def run_engine(database_url: str, runners: int) -> dict[str, float]:
    """Submit APPS applications, drain them with ``runners`` concurrent runners, measure."""
    settings = Settings(
        profile=Profile.TEST,
        database_url=database_url,
        log_level="WARNING",
        worker_batch_size=50,
        db_pool_size=max(4, runners * 2),
    )
    container = build_container(settings)
    await load_demo(container, progress=lambda _: None)
    async with container.uow() as uow:
        await publish_blueprint(
            uow.session, blueprint(), container.clock.now(), actor="system:benchmark"
        )
        await uow.commit()
    gateway = InProcessGateway({f"noop.{i}": noop for i in range(STEPS_PER_APP)})
    runner = StepRunner(container, gateway)
    submitted = time.perf_counter()
    for n in range(APPS):
        await submit_application(
            container.uow(),
            container.clock,
            APPLICANT,
            SubmitApplication(service_id="bench-four-steps", data={"n": n}),
        )
    submit_seconds = time.perf_counter() - submitted
    started = time.perf_counter()

    async def drain(worker: str) -> None:
        idle = 0
        while idle < 3:
            idle = idle + 1 if await runner.run_once(worker) == 0 else 0

    await asyncio.gather(*(drain(f"bench-{i}") for i in range(runners)))
    elapsed = time.perf_counter() - started
    async with container.uow() as uow:
        rows = list(
            await uow.session.execute(
                select(ApplicationRow.submitted_at, ApplicationRow.decided_at, ApplicationRow.state)
            )
        )
    await container.database.dispose()
    done = [r for r in rows if r.state == "approved"]
    assert len(done) == APPS, f"only {len(done)} of {APPS} completed"
    latencies = sorted((r.decided_at - r.submitted_at).total_seconds() for r in done)
    return {
        "apps_per_s": APPS / elapsed,
        "steps_per_s": APPS * STEPS_PER_APP / elapsed,
        "submit_per_s": APPS / submit_seconds,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
        "elapsed": elapsed,
    }


def main() -> None:
    """Run the reference, the PostgreSQL engine and the SQLite engine; print a report."""
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    tps = pgbench_tps()
    print(f"pgbench simple-update, {PGBENCH_SECONDS} s, 4 clients: {tps:,.0f} TPS (reference)")
    name = f"bench_engine_{uuid.uuid4().hex[:6]}"
    url = create_database(name)
    try:
        upgrade(Settings().migrations_dir, url)
        pg = asyncio.run(run_engine(url, RUNNERS))
    finally:
        drop_database(name)
    with tempfile.TemporaryDirectory() as tmp:
        lite_url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(Settings().migrations_dir, lite_url)
        lite = asyncio.run(run_engine(lite_url, 1))
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"engine: {APPS} applications x {STEPS_PER_APP} parallel no-op steps, {RUNNERS} runners")
    for label, r in (("PostgreSQL", pg), ("SQLite (embedded, 1 writer)", lite)):
        print(
            f"  {label}: {r['apps_per_s']:,.1f} applications/s, {r['steps_per_s']:,.1f} steps/s, "
            f"submission {r['submit_per_s']:,.1f}/s, submission->decision p50 {r['p50']:.2f} s, "
            f"p99 {r['p99']:.2f} s (drain {r['elapsed']:.1f} s)"
        )
    print(
        f"  ratio steps/s / pgbench TPS (PostgreSQL): {pg['steps_per_s'] / tps:.3f} (goal >= 0.25)"
    )
    print(f"  peak RSS of the benchmark process: {rss_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
