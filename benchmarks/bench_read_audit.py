"""What auditing a status read costs (issue 23, ADR 0073): the read appended to the application's
hash chain in the request (before) against one insert into the read log folded later by the
worker (after), measured in the same run on the same database.

Both sides run the status read's own three queries (the application, its steps, its timeline)
and commit; "chained" then appends the ``application.read`` entry as the status read did before
ADR 0073 (``append_audit``: the seal's shared lock and the chain's lock, the head, the hash, the
insert), "logged" is ``application_status`` as it is now (``record_read``). Figures per read:
SQL statements sent, the client's CPU (``time.process_time``), wall time; then reads/s with
``BENCH_READ_CLIENTS`` (default 8) concurrent clients hammering **one** application (the chain
lock serialises "chained"), and what folding the logged reads costs the worker.
``BENCH_VOLUME_URL`` measures an already seeded database (Alice's ``seed-000000000000``);
otherwise a scratch one is seeded with ``BENCH_VOLUME_APPS`` (default 2 000) and dropped.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

# ruff: noqa: E402 - after the path set-up above
from sqlalchemy import event, select, text

from benchmarks.bench_volume import on_volume_database
from civicloom.applications import application_status
from civicloom.applications.tables import ApplicationRow, TaskRow, TimelineRow
from civicloom.audit import AuditAction, AuditRecord, append_audit, fold_reads
from civicloom.bootstrap import build_container
from civicloom.demo import load_demo, seed_applications
from civicloom.identity import load_personas, principal_for_persona
from civicloom.kernel import Clock, Principal
from civicloom.runtime import Container
from civicloom.settings import Profile, Settings

APPS = int(os.environ.get("BENCH_VOLUME_APPS", "2000"))
READS = int(os.environ.get("BENCH_READS", "400"))
CLIENTS = int(os.environ.get("BENCH_READ_CLIENTS", "8"))
HAMMER = int(os.environ.get("BENCH_READS_PER_CLIENT", "100"))
APP = "seed-000000000000"  # Alice's (one seeded application in 50 is hers, the first one)


def _load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


async def chained_status(container: Container, clock: Clock, reader: Principal, app: str) -> None:
    """The status read before ADR 0073: its queries, then the read appended to the chain."""
    async with container.uow() as uow:
        row = await uow.session.get(ApplicationRow, app)
        assert row is not None
        assert row.applicant_id == reader.subject
        list(await uow.session.scalars(select(TaskRow).where(TaskRow.application_id == row.id)))
        list(
            await uow.session.scalars(
                select(TimelineRow).where(
                    TimelineRow.application_id == row.id, TimelineRow.visible_to_applicant.is_(True)
                )
            )
        )
        await append_audit(
            uow.session,
            AuditRecord(
                actor=reader.audit_name,
                action=AuditAction.APPLICATION_READ,
                subject_type="application",
                subject_id=row.id,
                occurred_at=clock.now(),
                purpose="applicant views status",
                fields=tuple(sorted(row.data)),
            ),
        )
        await uow.commit()


async def logged_status(container: Container, clock: Clock, reader: Principal, app: str) -> None:
    """The status read now: one insert into the read log."""
    await application_status(container.uow(), clock, reader, app)


Read = Callable[[Container, Clock, Principal, str], Awaitable[None]]


async def sequential(container: Container, reader: Principal, read: Read) -> dict[str, float]:
    statements: list[str] = []

    def count(*args: object) -> None:
        if not str(args[2]).startswith("BEGIN"):
            statements.append(str(args[2]))

    for _ in range(20):  # warm up: prepared statements, pool
        await read(container, container.clock, reader, APP)
    engine = container.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(READS):
        await read(container, container.clock, reader, APP)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    event.remove(engine, "before_cursor_execute", count)
    return {
        "statements": len(statements) / READS,
        "locks": sum("advisory" in s for s in statements) / READS,
        "cpu_ms": cpu * 1000 / READS,
        "wall_ms": wall * 1000 / READS,
    }


async def hammered(container: Container, reader: Principal, read: Read) -> float:
    """Reads per second of one application by ``CLIENTS`` concurrent clients."""

    async def client() -> None:
        for _ in range(HAMMER):
            await read(container, container.clock, reader, APP)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return CLIENTS * HAMMER / (time.perf_counter() - started)


async def run(url: str, var_dir: Path) -> None:
    settings = Settings(profile=Profile.TEST, database_url=url, var_dir=var_dir)
    container = build_container(settings)
    if "BENCH_VOLUME_URL" not in os.environ:
        await load_demo(container, progress=lambda _: None)
        await seed_applications(container, APPS, progress=lambda _: None)
        async with container.uow() as uow:
            await uow.session.execute(text("ANALYZE"))
    alice = principal_for_persona(load_personas(settings.blueprints_dir)["alice"])
    print(f"status reads of {APP}, {READS} in a row, then {CLIENTS} clients × {HAMMER}; {_load()}")
    figures: dict[str, dict[str, float]] = {}
    for name, read in (("chained (before)", chained_status), ("logged (after)", logged_status)):
        figures[name] = await sequential(container, alice, read)
        figures[name]["hammered"] = await hammered(container, alice, read)
    print("| per status read | chained (before) | logged (after) | after ÷ before |")
    print("| --- | ---: | ---: | ---: |")
    before, after = figures["chained (before)"], figures["logged (after)"]
    for key, label in (
        ("statements", "SQL statements"),
        ("locks", "advisory-lock statements"),
        ("cpu_ms", "client CPU, ms"),
        ("wall_ms", "wall, ms (one client)"),
        ("hammered", f"reads/s, {CLIENTS} clients on one application"),
    ):
        ratio = f"{after[key] / before[key]:.2f}" if before[key] else "—"
        print(f"| {label} | {before[key]:.2f} | {after[key]:.2f} | {ratio} |")
    cpu, wall = time.process_time(), time.perf_counter()
    folded = await fold_reads(container.uow(), batches=1_000_000)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"fold: {folded} reads in {wall * 1000:.0f} ms "
        f"({wall * 1e6 / max(folded, 1):.0f} µs wall, {cpu * 1e6 / max(folded, 1):.0f} µs CPU "
        f"a read; {_load()})"
    )
    await container.close()
    await container.database.dispose()


def main() -> None:
    """Run on ``BENCH_VOLUME_URL`` as found, or on a scratch database seeded here."""
    on_volume_database("bench_read_audit", run)


if __name__ == "__main__":
    main()
