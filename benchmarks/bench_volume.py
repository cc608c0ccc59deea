"""Read paths at volume (issue 23): server-side p95 of the pages and lists issue 23 names, with
``BENCH_VOLUME_APPS`` applications (default 100 000; 1 000 000 documented) seeded in a scratch
PostgreSQL database, beside a FastAPI hello world measured in the same run, as ratios.

Seeding is ``civicloom demo seed`` (``civicloom.demo.seed``: COPY of rows generated in Python):
both demo services over the past two years (70 % approved, 10 % refused, 5 % withdrawn, 15 % in
progress with open officer tasks), every step, payments, documents' metadata, timelines and one
valid audit chain per application; one in 50 is Alice's. Requests go through the whole ASGI
stack in-process (middleware, sessions, templates; no sockets), ``BENCH_VOLUME_REQUESTS``
(default 30) each after one warm-up request; the p95 is the nearest rank.
``BENCH_POSTGRES_URL`` as ``bench_engine.py``; ``BENCH_VOLUME_URL`` measures an already seeded
database instead (seeding nothing, dropping nothing). The worker's KPI per-day job's first run
after the seed is timed too, and the worker's KPI report refresh with its peak RSS increase, the
rows it read and the peak of its Python allocations (``measure_refresh``); ``BENCH_SRC`` runs
another tree's code (e.g. before a change) on the same database.
"""

from __future__ import annotations

import asyncio
import gc
import math
import os
import re
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# ``BENCH_SRC``: another tree's ``src`` to measure (e.g. the code before a change), this
# benchmark's own by default
sys.path[:0] = [os.environ.get("BENCH_SRC", str(ROOT / "src")), str(ROOT)]

# ruff: noqa: E402 - after the path set-up above
import httpx
from fastapi import FastAPI
from sqlalchemy import event, text

from benchmarks.bench_engine import create_database, drop_database
from civicloom.app import create_app
from civicloom.bootstrap import build_container
from civicloom.db.migrate import upgrade
from civicloom.demo import load_demo, seed_applications
from civicloom.kpis import parse_period, refresh_report_snapshots, refresh_service_days
from civicloom.kpis.api import kpi_config
from civicloom.settings import Profile, Settings

APPS = int(os.environ.get("BENCH_VOLUME_APPS", "100000"))
REQUESTS = int(os.environ.get("BENCH_VOLUME_REQUESTS", "30"))
HTML = {"Accept": "text/html"}


def _load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def nearest_rank(values: list[float], percent: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1]


async def p95(call: Callable[[], Awaitable[httpx.Response]]) -> float:
    """Milliseconds at the 95th percentile over ``REQUESTS`` calls after one warm-up."""
    first = await call()
    assert first.status_code in (200, 304), (first.status_code, first.text[:300])
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = await call()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code in (200, 304), response.status_code
    return nearest_rank(times, 95)


async def run(url: str, var_dir: Path) -> None:
    """Seed, then measure every read path and the hello world."""
    settings = Settings(profile=Profile.TEST, database_url=url, var_dir=var_dir)
    container = build_container(settings)
    await load_demo(container, progress=lambda _: None)
    if "BENCH_VOLUME_URL" not in os.environ:
        report = await seed_applications(container, APPS, progress=lambda _: None)
        print(
            f"seeded {APPS} applications: {report.total_rows} rows in {report.seconds:.1f} s "
            f"({report.rows_per_second:,.0f} rows/s; "
            + ", ".join(f"{table} {rows}" for table, rows in report.rows.items())
            + ")"
        )
    started = time.monotonic()
    async with container.uow() as uow:
        await uow.session.execute(text("ANALYZE"))
        await uow.commit()  # ANALYZE is transactional: rolled back, it leaves no statistics
    print(f"ANALYZE: {time.monotonic() - started:.1f} s ({_load()})")

    started = time.monotonic()
    pairs = await refresh_service_days(container.uow())
    print(
        f"worker's KPI per-day job, first run: {pairs} (service, day) pairs in "
        f"{time.monotonic() - started:.1f} s ({_load()})"
    )

    await measure_refresh(container)

    hello = FastAPI()

    @hello.get("/")
    async def root() -> dict[str, str]:
        return {"hello": "world"}

    app = create_app(container)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=hello), base_url="http://h") as bare,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        alice = {**HTML, "Authorization": "Bearer dev:alice"}
        first = await client.get("/applications", headers=alice)
        found = re.search(r'href="/applications\?cursor=([^"]+)" rel="next"', first.text)
        assert found is not None
        following = f"/applications?cursor={found.group(1)}"
        olivia = {**HTML, "Authorization": "Bearer dev:olivia"}
        queue = await client.get("/backoffice/tasks", headers=olivia)
        found = re.search(r'href="(/backoffice/tasks\?[^"]*cursor=[^"]+)" rel="next"', queue.text)
        assert found is not None, "the queue has a second page"
        queue_next = found.group(1).replace("&amp;", "&")
        api_alice = {"Authorization": "Bearer dev:alice"}
        ada = {**HTML, "Authorization": "Bearer dev:ada"}
        paths: list[tuple[str, Callable[[], Awaitable[httpx.Response]]]] = [
            ("FastAPI hello world", lambda: bare.get("/")),
            (
                "public performance page (warm)",
                lambda: client.get("/performance/open-a-restaurant", headers=HTML),
            ),
            ("  same, revalidated (304)", lambda: _revalidated(client)),
            (
                "KPI dashboard (warm)",
                lambda: client.get(
                    "/backoffice/kpis?service=open-a-restaurant",
                    headers={**HTML, "Authorization": "Bearer dev:sam"},
                ),
            ),
            (
                "officer's queue, first page",
                lambda: client.get("/backoffice/tasks", headers=olivia),
            ),
            ("officer's queue, next page", lambda: client.get(queue_next, headers=olivia)),
            (
                "application status API",
                lambda: client.get(
                    "/api/v1/applications/seed-000000000000/status", headers=api_alice
                ),
            ),
            (
                "audit search by reference",
                lambda: client.get(
                    "/backoffice/audit", params={"application": "RST-SEED-0000050"}, headers=ada
                ),
            ),
            ("my applications, first page", lambda: client.get("/applications", headers=alice)),
            ("my applications, next page", lambda: client.get(following, headers=alice)),
            (
                "dead letters API, first page",
                lambda: client.get(
                    "/api/v1/operations/dead-letters", headers={"Authorization": "Bearer dev:priya"}
                ),
            ),
            ("services API (catalogue)", lambda: client.get("/api/v1/services")),
        ]
        print(f"measuring ({_load()})", flush=True)
        results = [(name, await p95(call)) for name, call in paths]
        print(f"measured ({_load()})", flush=True)
    reference = results[0][1]
    print(f"{'path':40} {'p95 ms':>8} {'ratio to hello':>15}")
    for name, ms in results:
        print(f"{name:40} {ms:8.1f} {reference / ms:15.3f}")
    await container.close()
    await container.database.dispose()


def _status_kib(field: str) -> int:
    """A ``/proc/self/status`` figure in KiB (``VmRSS``: now, ``VmHWM``: the peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _reset_peak_rss() -> bool:
    """Reset the process's peak RSS (``VmHWM``) to its current RSS (Linux ≥ 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


async def measure_refresh(container: Any) -> None:
    """The worker's KPI report refresh (every published service, the last 90 days), three
    times: timed (wall and CPU) with the peak RSS above the RSS it started from and the rows
    the database sent; then under ``tracemalloc`` for the peak of Python's allocations. The
    reference is what the reports must read: the period's applications and their tasks."""
    config = kpi_config(container)
    period = parse_period(container.clock, None, None)
    async with container.uow() as uow:
        needed = (
            await uow.session.execute(
                text(
                    "SELECT (SELECT count(*) FROM applications a WHERE {in_period}),"
                    " (SELECT count(*) FROM application_tasks t JOIN applications a"
                    " ON a.id = t.application_id WHERE {in_period})".format(
                        in_period="a.submitted_at >= :start AND a.submitted_at < :end"
                    )
                ),
                {"start": period.start, "end": period.end},
            )
        ).one()
    fetched = [0, 0]  # statements, rows

    def count_rows(_conn: Any, cursor: Any, *_args: Any) -> None:
        fetched[0] += 1
        fetched[1] += len(getattr(cursor, "_rows", ()) or ())  # asyncpg's buffered rows

    engine = container.database.engine.sync_engine
    gc.collect()
    reset = _reset_peak_rss()
    rss, maxrss = _status_kib("VmRSS"), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu = time.monotonic(), time.process_time()
    event.listen(engine, "after_cursor_execute", count_rows)
    try:
        await refresh_report_snapshots(container.uow(), container.clock, config)
    finally:
        event.remove(engine, "after_cursor_execute", count_rows)
    wall, cpu = time.monotonic() - started, time.process_time() - cpu
    if reset:
        peak = (_status_kib("VmHWM") - rss) / 1024
        how = "VmHWM reset before the run"
    else:
        peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - maxrss) / 1024
        how = "ru_maxrss delta: 0 when an earlier step peaked higher"
    print(
        f"worker's KPI report refresh (every service, 90 days): {wall:.1f} s, "
        f"{cpu:.1f} s CPU in this process ({_load()})\n"
        f"  peak RSS +{peak:.0f} MiB over {rss / 1024:.0f} MiB at its start ({how})\n"
        f"  rows read: {fetched[1]:,} in {fetched[0]:,} statements, for {needed[0]:,} "
        f"applications and {needed[1]:,} tasks in 90 days "
        f"({fetched[1] / max(1, needed[0] + needed[1]):.2f} rows per application or task)",
        flush=True,
    )
    gc.collect()
    tracemalloc.start()
    try:
        await refresh_report_snapshots(container.uow(), container.clock, config)
        _, traced = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(
        f"  peak of Python allocations during a refresh (tracemalloc): {traced / 2**20:.1f} MiB"
        f" = {traced / max(1, needed[0] + needed[1]):.0f} bytes per application or task",
        flush=True,
    )


async def _revalidated(client: httpx.AsyncClient) -> httpx.Response:
    """The performance page as a browser that holds it asks again (If-None-Match)."""
    page = "/performance/open-a-restaurant"
    response = await client.get(page, headers={**HTML, "If-None-Match": _ETAGS.get(page, "")})
    _ETAGS[page] = response.headers.get("etag", _ETAGS.get(page, ""))
    return response


_ETAGS: dict[str, str] = {}


def on_volume_database(
    prefix: str, run_on: Callable[[str, Path], Coroutine[Any, Any, None]]
) -> None:
    """Run ``run_on(url, var_dir)`` on ``BENCH_VOLUME_URL`` as found (already seeded, e.g. a
    million through ``civicloom demo seed``), or on a scratch database migrated here and
    dropped afterwards."""
    given = os.environ.get("BENCH_VOLUME_URL")
    name = f"{prefix}_{uuid.uuid4().hex[:6]}"
    url = given or create_database(name)
    try:
        if not given:
            upgrade(Settings().migrations_dir, url)
        with tempfile.TemporaryDirectory() as var_dir:
            asyncio.run(run_on(url, Path(var_dir)))
    finally:
        if not given:
            drop_database(name)


def main() -> None:
    """Run on ``BENCH_VOLUME_URL`` as found, or on a scratch database seeded here."""
    on_volume_database("bench_volume", run)


if __name__ == "__main__":
    main()
