"""The officer's work queue and the staff case search at volume (issue 23, ADR 0065, 0076).

On an already seeded database (``civicloom demo seed --applications N``), through the whole
ASGI stack in-process, beside a FastAPI hello world measured in the same run: for the queue's
first page, its next page (the page's own ``rel="next"`` link), a deep page and two case
searches, the statements one request sends, the p95 wall time and the CPU time of this
process per request (the app and its client; PostgreSQL is another process). Then every
statement of the queue's first and next page is run again under ``EXPLAIN (ANALYZE)`` (in a
transaction rolled back) for its time in PostgreSQL and its plan's top node, beside the filter
statement ADR 0076 replaced (``DISTINCT service_id`` over the department's open tasks).

``BENCH_QUEUE_URL`` (default: ``CIVICLOOM_DATABASE_URL``) names the database;
``BENCH_VOLUME_REQUESTS`` (default 30) the requests per path, after one warm-up;
``BENCH_QUEUE_PROFILE=N`` also prints the N functions with the most own time in a cProfile of
the first page. Statement times are the median of five ``EXPLAIN ANALYZE`` runs.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import json
import os
import pstats
import re
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

# ruff: noqa: E402 - after the path set-up above
import asyncpg
import httpx
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.engine import make_url

from benchmarks.bench_volume import nearest_rank
from civicloom.app import create_app
from civicloom.bootstrap import build_container
from civicloom.runtime import Container
from civicloom.settings import Profile, Settings

HTML = {"Accept": "text/html"}
NEXT = re.compile(r'href="(/backoffice/tasks\?[^"]*)" rel="next"')
REQUESTS = int(os.environ.get("BENCH_VOLUME_REQUESTS", "30"))
PROFILE = int(os.environ.get("BENCH_QUEUE_PROFILE", "0"))
EXPLAINS = 5
# The service filter before ADR 0076 (``services_with_tasks``), explained as the reference.
REPLACED_FILTER = (
    "SELECT DISTINCT applications.service_id FROM applications JOIN application_tasks"
    " ON application_tasks.application_id = applications.id"
    " WHERE application_tasks.department = $1"
    " AND application_tasks.state IN ('awaiting_officer', 'awaiting_applicant')"
    " ORDER BY applications.service_id"
)

Call = Callable[[], Awaitable[httpx.Response]]
Statement = tuple[str, tuple[Any, ...]]


def _load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


@contextmanager
def _statements(container: Container) -> Iterator[list[Statement]]:
    """Every statement (with its parameters) the app sends while the block runs."""
    sent: list[Statement] = []

    def record(_c: Any, _cur: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if not statement.startswith("BEGIN"):
            sent.append((statement, tuple(parameters or ())))

    engine = container.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def _measure(call: Call) -> tuple[float, float]:
    """p95 wall milliseconds and mean CPU milliseconds of this process, over ``REQUESTS``
    calls after one warm-up."""
    first = await call()
    assert first.status_code == 200, (first.status_code, first.text[:300])
    times = []
    cpu = time.process_time()
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = await call()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    cpu_ms = (time.process_time() - cpu) * 1000 / REQUESTS
    return nearest_rank(times, 95), cpu_ms


async def _next(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> str:
    page = await client.get(path, headers=headers)
    found = NEXT.search(page.text)
    assert found is not None, f"{path} has a next page"
    return found.group(1).replace("&amp;", "&")


async def _explain(dsn: str, statement: str, parameters: tuple[Any, ...]) -> tuple[float, str]:
    """PostgreSQL's median execution time (ms) of a statement over ``EXPLAINS`` runs and its
    plan's top nodes, under ``EXPLAIN ANALYZE`` in a transaction that is rolled back."""
    conn = await asyncpg.connect(dsn)
    times: list[float] = []
    try:
        for _ in range(EXPLAINS):
            tx = conn.transaction()
            await tx.start()
            try:
                raw = await conn.fetchval(
                    "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, *parameters
                )
            finally:
                await tx.rollback()
            plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
            times.append(float(plan["Execution Time"]))
    finally:
        await conn.close()
    return nearest_rank(times, 50), _shape(plan["Plan"])


def _shape(node: dict[str, Any], depth: int = 0) -> str:
    """The plan's first nodes: kind, index and rows, e.g. ``Limit 26 > Nested Loop 26 > …``."""
    name = node["Node Type"] + (f" {node['Index Name']}" if "Index Name" in node else "")
    here = f"{name} {node.get('Actual Rows', '?')}"
    children = node.get("Plans") or []
    if depth >= 3 or not children:
        return here
    return here + " > " + " | ".join(_shape(child, depth + 1) for child in children)


def _label(statement: str) -> str:
    flat = " ".join(statement.split())
    found = re.search(r"\bFROM (\w+)", flat)
    return f"{flat[:38]}… FROM {found.group(1) if found else '?'}"


async def run(url: str, var_dir: Path) -> None:
    """Measure the queue's pages and two searches, then explain the queue's statements."""
    settings = Settings(profile=Profile.TEST, database_url=url, var_dir=var_dir)
    container = build_container(settings)
    app = create_app(container)
    hello = FastAPI()

    @hello.get("/")
    async def root() -> dict[str, str]:
        return {"hello": "world"}

    olivia = {**HTML, "Authorization": "Bearer dev:olivia"}
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    print(f"before: {_load()}")
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=hello), base_url="http://h") as bare,
    ):
        second = await _next(client, "/backoffice/tasks", olivia)
        deep = second
        for _ in range(20):
            deep = await _next(client, deep, olivia)
        paths: list[tuple[str, Call]] = [
            ("FastAPI hello world", lambda: bare.get("/")),
            ("queue, first page", lambda: client.get("/backoffice/tasks", headers=olivia)),
            ("queue, next page", lambda: client.get(second, headers=olivia)),
            ("queue, 22nd page", lambda: client.get(deep, headers=olivia)),
            (
                "case search 'golden kitchen' (~1 in 48)",
                lambda: client.get(
                    "/backoffice/cases", params={"q": "golden kitchen"}, headers=olivia
                ),
            ),
            (
                "case search 'zebra' (no match)",
                lambda: client.get("/backoffice/cases", params={"q": "zebra"}, headers=olivia),
            ),
        ]
        sent: dict[str, list[Statement]] = {}
        results: list[tuple[str, float, float]] = []
        for name, call in paths:
            await call()  # warm: what a steady request sends
            with _statements(container) as statements:
                await call()
            sent[name] = list(statements)
            results.append((name, *await _measure(call)))
        profile = ""
        if PROFILE:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(REQUESTS):
                await client.get("/backoffice/tasks", headers=olivia)
            profiler.disable()
            out = io.StringIO()
            # own time: cumulative times of coroutines are cut at every await
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(PROFILE)
            profile = out.getvalue()
    print(f"after: {_load()}")
    hello_p95, hello_cpu = results[0][1], results[0][2]
    print(f"{'path':42} {'stmts':>5} {'p95 ms':>8} {'ratio':>6} {'CPU ms':>7} {'ratio':>6}")
    for name, ms, cpu in results:
        print(
            f"{name:42} {len(sent[name]):5d} {ms:8.1f} {hello_p95 / ms:6.3f}"
            f" {cpu:7.2f} {hello_cpu / cpu:6.3f}"
        )
    department = "local-admin"
    for name in ("queue, first page", "queue, next page"):
        print(f"\n{name}: every statement under EXPLAIN ANALYZE")
        for statement, parameters in sent[name]:
            ms, shape = await _explain(dsn, statement, parameters)
            print(f"  {ms:8.3f} ms  {_label(statement)}\n             {shape}")
    ms, shape = await _explain(dsn, REPLACED_FILTER, (department,))
    print(f"\nreplaced filter (before ADR 0076): {ms:8.3f} ms\n             {shape}")
    if profile:
        print(f"\ncProfile of {REQUESTS} first pages\n{profile}")
    await container.close()
    await container.database.dispose()


def main() -> None:
    """Run against the database named by the environment."""
    url = os.environ.get("BENCH_QUEUE_URL") or os.environ["CIVICLOOM_DATABASE_URL"]
    with tempfile.TemporaryDirectory() as var_dir:
        asyncio.run(run(url, Path(var_dir)))


if __name__ == "__main__":
    main()
