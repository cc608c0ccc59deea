"""Case-engine throughput with 1, 2 and 4 worker processes, against pgbench in the same run.

``bench_engine.py`` drains with several runners in one process, so it measures one Python
process's CPU as much as PostgreSQL (issue 23). Here, on one scratch database: pgbench
simple-update first (the reference), then for each process count, ``BENCH_APPS`` applications
of the four-step no-op blueprint are submitted and drained by that many worker processes
(each with ``BENCH_RUNNERS`` runners, its own container and connection pool), started
together once they are ready (imports and pools do not count). Prints steps/s and steps/s ÷
pgbench TPS for each, with the load average before each drain: the machine is often shared.

Not part of ``make bench`` (its name does not start with ``bench_``): run it by hand.
Environment: BENCH_APPS (default 1000), BENCH_RUNNERS (4), BENCH_PROCESSES (``1,2,4``),
BENCH_PGBENCH_SECONDS (20), BENCH_POSTGRES_URL.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import time
import uuid
from multiprocessing.synchronize import Event

from sqlalchemy import func, select

from benchmarks import bench_engine
from civicloom.applications import StepRunner, SubmitApplication, submit_application
from civicloom.applications.tables import ApplicationRow
from civicloom.bootstrap import build_container
from civicloom.catalogue import publish_blueprint
from civicloom.db.migrate import upgrade
from civicloom.demo import load_demo
from civicloom.departments import InProcessGateway
from civicloom.runtime import Container
from civicloom.settings import Profile, Settings

APPS = int(os.environ.get("BENCH_APPS", "1000"))
PROCESSES = [int(n) for n in os.environ.get("BENCH_PROCESSES", "1,2,4").split(",")]


def _container(url: str, runners: int) -> Container:
    return build_container(
        Settings(
            profile=Profile.TEST,
            database_url=url,
            log_level="WARNING",
            worker_batch_size=50,
            db_pool_size=max(4, runners * 2),
        )
    )


async def _prepare(url: str) -> None:
    container = _container(url, 1)
    await load_demo(container, progress=lambda _: None)
    async with container.uow() as uow:
        await publish_blueprint(
            uow.session, bench_engine.blueprint(), container.clock.now(), actor="system:benchmark"
        )
        await uow.commit()
    await container.database.dispose()


async def _submit(url: str, count: int) -> None:
    container = _container(url, 1)
    for n in range(count):
        await submit_application(
            container.uow(),
            container.clock,
            bench_engine.APPLICANT,
            SubmitApplication(service_id="bench-four-steps", data={"n": n}),
        )
    await container.database.dispose()


async def _decided(url: str) -> int:
    container = _container(url, 1)
    async with container.uow() as uow:
        count = await uow.session.scalar(
            select(func.count()).where(ApplicationRow.state == "approved")
        )
    await container.database.dispose()
    return int(count or 0)


def _worker(url: str, name: str, ready: Event, go: Event, done: mp.Queue[float]) -> None:
    async def main() -> None:
        container = _container(url, bench_engine.RUNNERS)
        gateway = InProcessGateway(
            {f"noop.{i}": bench_engine.noop for i in range(bench_engine.STEPS_PER_APP)}
        )
        runner = StepRunner(container, gateway)
        async with container.uow() as uow:  # open the pool before the clock starts
            await uow.session.scalar(select(1))
        ready.set()
        await asyncio.to_thread(go.wait)

        async def drain(worker: str) -> None:
            idle = 0
            while idle < 3:
                idle = idle + 1 if await runner.run_once(worker) == 0 else 0

        await asyncio.gather(*(drain(f"{name}-{i}") for i in range(bench_engine.RUNNERS)))
        done.put(time.perf_counter())
        await container.database.dispose()

    asyncio.run(main())


def drain_with(url: str, processes: int) -> float:
    """Drain what is queued with ``processes`` worker processes; returns the seconds taken."""
    spawn = mp.get_context("spawn")
    go = spawn.Event()
    done: mp.Queue[float] = spawn.Queue()
    readies, workers = [], []
    for p in range(processes):
        ready = spawn.Event()
        worker = spawn.Process(target=_worker, args=(url, f"p{p}", ready, go, done))
        worker.start()
        readies.append(ready)
        workers.append(worker)
    for ready in readies:
        ready.wait(120)
    started = time.perf_counter()
    go.set()
    finished = [done.get(timeout=1800) for _ in workers]
    for worker in workers:
        worker.join(60)
    return max(finished) - started


def main() -> None:
    tps = bench_engine.pgbench_tps()
    print(
        f"pgbench simple-update, {bench_engine.PGBENCH_SECONDS} s, 4 clients: {tps:,.0f} TPS "
        f"(load average {os.getloadavg()[0]:.1f})"
    )
    name = f"bench_procs_{uuid.uuid4().hex[:6]}"
    url = bench_engine.create_database(name)
    try:
        upgrade(Settings().migrations_dir, url)
        asyncio.run(_prepare(url))
        for processes in PROCESSES:
            asyncio.run(_submit(url, APPS))
            load = os.getloadavg()[0]
            seconds = drain_with(url, processes)
            steps = APPS * bench_engine.STEPS_PER_APP / seconds
            print(
                f"  {processes} process(es) x {bench_engine.RUNNERS} runners: "
                f"{steps:,.0f} steps/s, ratio {steps / tps:.3f} "
                f"(load average {load:.1f} before the drain)"
            )
        decided = asyncio.run(_decided(url))
        expected = APPS * len(PROCESSES)
        assert decided == expected, f"only {decided} of {expected} decided"
    finally:
        bench_engine.drop_database(name)


if __name__ == "__main__":
    main()
