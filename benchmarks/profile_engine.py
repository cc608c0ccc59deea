"""Where one engine transition's cost goes: the PostgreSQL half of ``bench_engine.py``, with
the drain (not the submissions) counted and profiled.

Prints steps/s, statements and transactions per step (SQLAlchemy ``before_cursor_execute``
and ``begin`` events), Python CPU per step (``time.process_time()`` over the drain) and, with
``PROFILE=1``, the Python function calls a step (a count: the same on a busy machine) and a
CPU-time ``cProfile`` of the drain grouped by package (SQLAlchemy ORM, SQL
compilation, engine, asyncpg, asyncio, OpenTelemetry, civicloom modules). CPU time, not wall
time, so other load on the machine inflates the figures less; compare trees in alternating
rounds all the same (benchmarks/README.md).

Environment: BENCH_APPS (default 300), BENCH_RUNNERS (4), BENCH_POSTGRES_URL, PROFILE,
PROFILE_OUT (a file to keep the cProfile stats in), VERIFY (run ``civicloom audit verify`` on
the drained database before dropping it).
Not part of ``make bench`` (its name does not start with ``bench_``).
"""

from __future__ import annotations

import asyncio
import cProfile
import functools
import os
import pstats
import subprocess
import sys
import time
import uuid
from collections import Counter
from typing import Any

from sqlalchemy import Engine, event

from benchmarks import bench_engine
from civicloom.applications import StepRunner
from civicloom.db.migrate import upgrade
from civicloom.settings import Settings

bench_engine.APPS = int(os.environ.get("BENCH_APPS", "300"))  # a smaller default than bench's
PROFILE = bool(os.environ.get("PROFILE"))
VERIFY = bool(os.environ.get("VERIFY"))


class Meter:
    """Counts statements and transactions, and CPU time, from the first poll of the drain."""

    def __init__(self) -> None:
        self.draining = False
        self.statements = 0
        self.kinds: Counter[str] = Counter()  # statements by kind and table
        self.transactions = 0
        self.cpu_started = 0.0
        self.cpu_last = 0.0
        self.profile = cProfile.Profile(time.process_time) if PROFILE else None

    def statement(self, _conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if not self.draining:
            return
        self.statements += 1
        kind = statement_kind(sql)
        self.kinds[kind] += 1

    def begin(self, *_: Any) -> None:
        self.transactions += self.draining

    def poll_started(self) -> None:
        if not self.draining:
            self.draining = True
            self.cpu_started = time.process_time()
            if self.profile is not None:
                self.profile.enable()

    def poll_ended(self) -> None:
        self.cpu_last = time.process_time()


@functools.lru_cache(maxsize=512)
def statement_kind(sql: str) -> str:
    """``INSERT audit_entries``, ``UPDATE application_tasks``, ``SELECT pg_advisory…``: what a
    statement does and to which table (a multi-row INSERT counts once)."""
    if "pg_advisory_xact_lock" in sql:
        return "SELECT pg_advisory_xact_lock (audit chains)"
    if "LATERAL" in sql and "audit_entries" in sql:
        return "SELECT audit_entries (chain heads)"
    words = sql.split()
    verb = words[0].upper() if words else "?"
    upper = [w.upper() for w in words]
    for marker in ("INTO", "UPDATE", "FROM"):
        if marker in upper[: len(upper)]:
            at = upper.index(marker)
            if marker == "UPDATE" and at != 0:
                continue
            if at + 1 < len(words):
                return f"{verb} {words[at + 1].strip('(').strip(chr(34))}"
    return f"{verb} {words[1][:30] if len(words) > 1 else ''}"


def group(profile: cProfile.Profile) -> list[tuple[str, float]]:
    """CPU seconds (own time) by package, largest first."""
    totals: Counter[str] = Counter()  # (float values: seconds)
    stats: dict[Any, Any] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    for (filename, _, function), (_, _, own, _, _) in stats.items():
        totals[package_of(filename, function)] += own
    return [(package, float(seconds)) for package, seconds in totals.most_common()]


def package_of(filename: str, function: str) -> str:
    if "sqlalchemy/" in filename:
        return "sqlalchemy." + filename.split("sqlalchemy/")[1].split("/")[0]
    for name in ("asyncpg", "asyncio", "opentelemetry", "structlog"):
        if f"/{name}/" in filename:
            return name
    if "/civicloom/" in filename:
        return "civicloom." + filename.split("/civicloom/")[1].split("/")[0].removesuffix(".py")
    if filename == "~":
        return "builtins (" + ("socket" if "socket" in function else "other") + ")"
    return "other"


def main() -> None:
    meter = Meter()
    run_once = StepRunner.run_once
    event.listen(Engine, "before_cursor_execute", meter.statement)  # every engine's
    event.listen(Engine, "begin", meter.begin)

    async def metered_run_once(self: StepRunner, worker_id: str) -> int:
        meter.poll_started()
        try:
            return await run_once(self, worker_id)
        finally:
            meter.poll_ended()

    StepRunner.run_once = metered_run_once  # type: ignore[method-assign]
    name = f"profile_engine_{uuid.uuid4().hex[:6]}"
    url = bench_engine.create_database(name)
    try:
        upgrade(Settings().migrations_dir, url)
        result = asyncio.run(bench_engine.run_engine(url, bench_engine.RUNNERS))
        if VERIFY:  # the chains the drain extended, checked by the operators' command
            verified = subprocess.run(
                [sys.executable, "-m", "civicloom", "audit", "verify"],
                env={**os.environ, "CIVICLOOM_DATABASE_URL": url, "CIVICLOOM_PROFILE": "test"},
            )
            # 3: intact, reads still waiting for the fold (no worker ran; ADR 0081)
            if verified.returncode not in (0, 3):
                raise SystemExit(f"audit verify exited {verified.returncode}")
    finally:
        if meter.profile is not None:
            meter.profile.disable()
        bench_engine.drop_database(name)
    steps = bench_engine.APPS * bench_engine.STEPS_PER_APP
    cpu = meter.cpu_last - meter.cpu_started
    print(
        f"{steps} steps: {result['steps_per_s']:,.0f} steps/s, "
        f"{meter.statements / steps:.2f} statements and {meter.transactions / steps:.3f} "
        f"transactions a step, Python CPU {cpu / steps * 1000:.3f} ms a step"
    )
    print("  statements a step during the drain, by kind (an executemany counts once):")
    for kind, count in meter.kinds.most_common():
        print(f"    {kind:<40} {count / steps:6.3f}")
    if meter.profile is not None:
        calls: int = pstats.Stats(meter.profile).total_calls  # type: ignore[attr-defined]
        print(f"  Python function calls a step: {calls / steps:,.0f} (counted, not timed)")
        if os.environ.get("PROFILE_OUT"):  # for pstats / snakeviz
            meter.profile.dump_stats(os.environ["PROFILE_OUT"])
        grouped = group(meter.profile)
        total = sum(seconds for _, seconds in grouped)
        for package, seconds in grouped[:16]:
            print(f"  {package:<28} {seconds / total * 100:5.1f} %")


if __name__ == "__main__":
    main()
