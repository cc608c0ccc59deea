"""Read paths at volume (issue 23): server-side p95 of the pages and lists issue 23 names, with
``BENCH_VOLUME_APPS`` applications (default 100 000; 1 000 000 documented) seeded in a scratch
PostgreSQL database, beside a FastAPI hello world measured in the same run, as ratios.

Seeding is server-side (``INSERT … SELECT generate_series``, one statement per table, no row
through Python): applications of ``open-a-restaurant`` over the past year (60 % approved, 10 %
refused, 30 % in progress), two steps each (the inspection, done for decided applications and
open for the others; the licence for approved ones), two timeline entries each, and one in 500
of them (at least 50) Alice's. Requests go through the whole ASGI stack in-process (middleware,
sessions, templates; no sockets), ``BENCH_VOLUME_REQUESTS`` (default 30) each after one warm-up
request; the p95 is the nearest rank. ``BENCH_POSTGRES_URL`` as ``bench_engine.py``.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

# ruff: noqa: E402 - after the path set-up above
import httpx
from fastapi import FastAPI
from sqlalchemy import text

from benchmarks.bench_engine import create_database, drop_database
from civicloom.app import create_app
from civicloom.bootstrap import build_container
from civicloom.db.migrate import upgrade
from civicloom.demo import load_demo
from civicloom.kpis import refresh_report_snapshots
from civicloom.kpis.api import kpi_config
from civicloom.settings import Profile, Settings

APPS = int(os.environ.get("BENCH_VOLUME_APPS", "100000"))
REQUESTS = int(os.environ.get("BENCH_VOLUME_REQUESTS", "30"))
HTML = {"Accept": "text/html"}

SEED = [
    # applications: one statement
    "INSERT INTO applications (id, reference, service_id, blueprint_version_id, "
    "blueprint_version, applicant_id, state, data, request_hash, submitted_at, updated_at, "
    "decided_at) SELECT 'v' || lpad(g::text, 35, '0'), 'V-' || g, 'open-a-restaurant', "
    ":version, :number, CASE WHEN g % :every = 0 THEN 'alice' ELSE 'citizen-' || (g % 40000) END, "
    "CASE WHEN g % 10 < 6 THEN 'approved' WHEN g % 10 = 6 THEN 'rejected' ELSE 'in_progress' END, "
    "'{\"business_name\": \"Seeded Kitchen\"}', '', "
    "now() - (g % 365) * interval '1 day' - (g % 86400) * interval '1 second', now(), "
    "CASE WHEN g % 10 < 7 THEN now() - (g % 365) * interval '1 day' + interval '5 days' END "
    "FROM generate_series(1, :n) g",
    # the inspection step of each application
    "INSERT INTO application_tasks (id, application_id, step_id, kind, department, role, state, "
    "attempts, idempotency_key, escalated, sla_due_at, activated_at, completed_at, created_at, "
    "updated_at) SELECT 'i' || substr(a.id, 2), a.id, 'inspection', 'officer_review', "
    "'environment', 'inspector', CASE WHEN a.state = 'in_progress' THEN 'waiting' "
    "ELSE 'completed' END, 0, 'i' || a.id, false, a.submitted_at + interval '10 days', "
    "a.submitted_at + interval '1 hour', CASE WHEN a.state <> 'in_progress' THEN "
    "a.submitted_at + interval '3 days' END, a.submitted_at, a.submitted_at "
    "FROM applications a WHERE a.id LIKE 'v%'",
    # the licence of each approved application
    "INSERT INTO application_tasks (id, application_id, step_id, kind, department, state, "
    "attempts, idempotency_key, escalated, activated_at, completed_at, created_at, updated_at) "
    "SELECT 'l' || substr(a.id, 2), a.id, 'licence', 'issue_document', 'local-admin', "
    "'completed', 1, 'l' || a.id, false, a.decided_at, a.decided_at + interval '1 minute', "
    "a.submitted_at, a.submitted_at FROM applications a "
    "WHERE a.id LIKE 'v%' AND a.state = 'approved'",
    # two timeline entries each
    "INSERT INTO application_timeline (application_id, at, event, step_id, department, message, "
    "visible_to_applicant) SELECT a.id, a.submitted_at + k * interval '1 day', "
    "CASE WHEN k = 0 THEN 'submitted' ELSE 'step_completed' END, NULL, NULL, "
    "'Seeded', true FROM applications a, generate_series(0, 1) k WHERE a.id LIKE 'v%'",
]


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
    started = time.monotonic()
    async with container.uow() as uow:
        version, number = (
            await uow.session.execute(
                text(
                    "SELECT id, version FROM blueprint_versions WHERE service_id = "
                    "'open-a-restaurant' ORDER BY version DESC LIMIT 1"
                )
            )
        ).one()
        for statement in SEED:
            await uow.session.execute(
                text(statement),
                {
                    "version": version,
                    "number": number,
                    "n": APPS,
                    "every": max(1, min(500, APPS // 50)),
                },
            )
        await uow.commit()
    async with container.uow() as uow:
        await uow.session.execute(text("ANALYZE"))
        (tasks,) = (await uow.session.execute(text("SELECT count(*) FROM application_tasks"))).one()
    print(f"seeded {APPS} applications, {tasks} steps in {time.monotonic() - started:.1f} s")

    started = time.monotonic()
    await refresh_report_snapshots(container.uow(), container.clock, kpi_config(container))
    print(
        f"worker's KPI report refresh (every service, 90 days): {time.monotonic() - started:.1f} s"
    )

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
        results = [(name, await p95(call)) for name, call in paths]
    reference = results[0][1]
    print(f"{'path':40} {'p95 ms':>8} {'ratio to hello':>15}")
    for name, ms in results:
        print(f"{name:40} {ms:8.1f} {reference / ms:15.3f}")
    await container.close()
    await container.database.dispose()


async def _revalidated(client: httpx.AsyncClient) -> httpx.Response:
    """The performance page as a browser that holds it asks again (If-None-Match)."""
    page = "/performance/open-a-restaurant"
    response = await client.get(page, headers={**HTML, "If-None-Match": _ETAGS.get(page, "")})
    _ETAGS[page] = response.headers.get("etag", _ETAGS.get(page, ""))
    return response


_ETAGS: dict[str, str] = {}


def main() -> None:
    """Run on a scratch database and drop it afterwards."""
    name = f"bench_volume_{uuid.uuid4().hex[:6]}"
    url = create_database(name)
    try:
        upgrade(Settings().migrations_dir, url)
        with tempfile.TemporaryDirectory() as var_dir:
            asyncio.run(run(url, Path(var_dir)))
    finally:
        drop_database(name)


if __name__ == "__main__":
    main()
