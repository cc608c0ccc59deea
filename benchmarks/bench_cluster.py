"""Issue 23 on the multi-host cluster (ADR 0060), one cluster and one run for both measures:

1. **Status reads through the load balancer** against a FastAPI hello world served the same
   way: the hello world runs on both API hosts with the same server call and worker count as
   ``civicloom serve``, behind a second frontend of the same HAProxy (same defaults, same
   health-checked round robin). ``wrk`` runs on a client host of its own (a namespace on the
   bridge) and alternates, round by round, between the hello world and the status of a real
   application, submitted through the load balancer by a machine client and read with its
   key (a small Lua script puts the ``Authorization`` header on, from the environment rather
   than the command line). Prints req/s, p50, p99 and status ÷ hello. Beside them, served
   exactly as the hello world (both API hosts, same worker count, a third frontend of the same
   HAProxy), the **floor** (``bench_request_path.floor_app``): the same status read's database
   work alone with raw asyncpg against the primary (key lookup, application, steps, a timeline
   page, one read-log insert, one transaction), and floor ÷ hello, status ÷ floor.
2. **Engine throughput on the worker hosts**: the hosts' ``civicloom worker`` processes are
   stopped and the four-step no-op blueprint of ``bench_engine.py`` is drained by 1, 2 and 4
   worker processes on one worker host, then by 1 + 1 and 2 + 2 on both, each process with
   the hosts' production settings against the primary, which waits for its synchronous
   replica on every commit. The reference is pgbench simple-update from a worker host
   against the same primary (so it pays the same replica round trip), before and after.
   Prints steps/s, steps/s ÷ pgbench TPS, the scaling against one process, CPU per step of
   the worker processes and of each database host, and what PostgreSQL's active sessions
   were waiting for (sampled from ``pg_stat_activity``).

Everything runs on one machine: the "hosts" share its cores, so two worker hosts show what
the network path costs, not what a second machine adds. The cluster is torn down at the end,
on an error and on Ctrl-C (SIGTERM too); one left by a kill -9 is reaped by the next
``tests/cluster`` session (its owner is gone) or ``make cluster-down``.

Needs root, HAProxy, wrk and PostgreSQL 15 (as ``make cluster``); otherwise prints why and
skips. Environment: BENCH_CLUSTER_SECONDS (10 per wrk round), BENCH_CLUSTER_ROUNDS (3),
BENCH_CLUSTER_CONNECTIONS (32), BENCH_CLUSTER_API_WORKERS (2 uvicorn processes per API host),
BENCH_CLUSTER_APPS (500 applications per engine layout), BENCH_PGBENCH_SECONDS (20),
BENCH_RUNNERS (4 step runners per worker process), BENCH_CLUSTER_PHASES (``http,engine``: the
phases to run, e.g. ``http`` alone).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

# ruff: noqa: E402 - after the path set-up above
import asyncio
import contextlib
import json
import re
import shutil
import signal
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass
from types import FrameType

import httpx
import psycopg
from sqlalchemy import func, select

from benchmarks import bench_engine
from benchmarks.bench_request_path import FLOOR_DSN
from civicloom.applications import StepRunner, SubmitApplication, submit_application
from civicloom.applications.tables import ApplicationRow
from civicloom.bootstrap import build_container
from civicloom.catalogue import Blueprint
from civicloom.departments import InProcessGateway
from scripts.cluster.clients import counter_service
from scripts.cluster.topology import (
    API_PORT,
    PG_PORT,
    Cluster,
    ClusterError,
    Route,
    run,
    up,
    wait_for,
)

SECONDS = int(os.environ.get("BENCH_CLUSTER_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_CLUSTER_ROUNDS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CLUSTER_CONNECTIONS", "32"))
API_WORKERS = int(os.environ.get("BENCH_CLUSTER_API_WORKERS", "2"))
APPS = int(os.environ.get("BENCH_CLUSTER_APPS", "500"))
PHASES = set(os.environ.get("BENCH_CLUSTER_PHASES", "http,engine").split(","))
HELLO = Route("hello", "hello", 8081, API_PORT + 1, "/hello")
FLOOR = Route("floor", "floor", 8082, API_PORT + 2, "/floor/ping")
CLIENT_OCTET = 61  # the client host's address on the bridge (a spare namespace)
# One worker process of the engine runs: this script's ``drain NAME SIGNALS_DIRECTORY``.
DRAIN = [sys.executable, str(Path(__file__).resolve()), "drain"]
# Worker processes by host: 1, 2, 4 on one worker host, then 2 and 4 over both.
LAYOUTS: tuple[tuple[str, ...], ...] = (
    ("worker1",),
    ("worker1",) * 2,
    ("worker1",) * 4,
    ("worker1", "worker2"),
    ("worker1", "worker2") * 2,
)
# The same uvicorn call as ``civicloom serve`` (src/civicloom/cli.py), for the references
# (the hello world, the floor): ``-c SERVER HOST PORT WORKERS APP``.
REFERENCE_SERVER = (
    "import sys, uvicorn; uvicorn.run(sys.argv[4], "
    "host=sys.argv[1], port=int(sys.argv[2]), workers=int(sys.argv[3]), log_config=None, "
    "access_log=False, proxy_headers=False)"
)
# The applicant's key comes from the environment: a command line is visible to every user.
AUTHORIZATION_LUA = 'wrk.headers["Authorization"] = os.getenv("BENCH_AUTHORIZATION")\n'
WAITS = (
    "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU'), count(*)"
    " FROM pg_stat_activity WHERE state = 'active' AND backend_type = 'client backend'"
    " AND pid <> pg_backend_pid() GROUP BY 1"
)


def status_blueprint() -> Blueprint:
    """One automated step at the tax office's simulator: the application whose status is read
    is a real one, taken to its decision by the cluster's worker hosts."""
    return Blueprint.model_validate(
        {
            "id": "bench-status",
            "version": 1,
            "owner": "local-admin",
            "reference_prefix": "BST",
            "title": {"en": "Status benchmark", "zh-Hans": "状态基准"},
            "form": {
                "schema": {
                    "type": "object",
                    "properties": {"registration_number": {"type": "string"}},
                }
            },
            "steps": [
                {
                    "id": "tax",
                    "kind": "automated",
                    "department": "tax",
                    "capability": "tax.clearance_check",
                    "input": {"registration_number": "$.data.registration_number"},
                }
            ],
        }
    )


# -- HTTP through the load balancer ---------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    """One wrk run."""

    rate: float  # requests per second
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors (a timeout is one: 10 s without an answer)


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(cluster: Cluster, url: str, seconds: int, env: dict[str, str] | None = None) -> Sample:
    """``wrk`` from the client host; a SystemExit if any answer was not 2xx."""
    argv = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s", "--latency"]
    argv.append(url)
    if env:
        script = cluster.root / "authorization.lua"
        script.write_text(AUTHORIZATION_LUA)
        argv[1:1] = ["-s", str(script)]
    out = cluster.in_ns(
        "client", argv, timeout=seconds + 60, env={"PATH": os.environ["PATH"], **(env or {})}
    )
    if "Non-2xx" in out:
        raise SystemExit(f"{url}: wrk saw answers other than 2xx:\n{out}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    # "Latency Distribution": lines "     50%    1.23ms" (not the "+/- Stdev" columns above it)
    p50, p99 = (re.search(rf"^\s+{q}%\s+(\S+)\s*$", out, re.MULTILINE) for q in ("50", "99"))
    if rate is None or p50 is None or p99 is None:
        raise SystemExit(f"{url}: unexpected wrk output:\n{out}")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = sum(int(n) for n in errors.groups()) if errors else 0
    return Sample(float(rate.group(1)), _ms(p50.group(1)), _ms(p99.group(1)), failed)


def _both_serve(url: str) -> bool:
    with httpx.Client(timeout=5) as client:
        served = {client.get(url).headers.get("x-served-by") for _ in range(4)}
    return served == {"api1", "api2"}


def start_reference(
    cluster: Cluster, route: Route, app: str, env: dict[str, str] | None = None
) -> str:
    """A reference app (``module:attribute``) on both API hosts, as civicloom runs there
    (same uvicorn call and worker count), behind ``route`` of the same HAProxy; the URL of its
    health path on the balancer."""
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", **(env or {})}
    for host in ("api1", "api2"):
        argv = [sys.executable, "-c", REFERENCE_SERVER, cluster.ip(host), str(route.api_port)]
        cluster.spawn(host, route.backend, [*argv, str(cluster.api_workers), app], env)
    url = f"http://{cluster.ip('lb')}:{route.lb_port}{route.health}"
    wait_for(lambda: _both_serve(url), 240, f"{route.backend} on both API hosts")
    return url


def start_hello(cluster: Cluster) -> str:
    """The hello world on both API hosts; its URL on the balancer."""
    return start_reference(cluster, HELLO, "benchmarks.bench_request_path:hello_app")


def start_floor(cluster: Cluster, status: str) -> str:
    """The floor on both API hosts, its pools on the primary (the same failover URL as
    civicloom's: both database hosts, the writable one chosen at connect time); the URL of
    ``status``'s application read through it on the balancer."""
    env = {FLOOR_DSN: cluster.libpq_url()}
    start_reference(cluster, FLOOR, "benchmarks.bench_request_path:floor_app", env)
    path = status.split("/api/v1", 1)[1]
    return f"http://{cluster.ip('lb')}:{FLOOR.lb_port}/floor{path}"


def submit_for_status(cluster: Cluster, key: str) -> str:
    """One application submitted through the load balancer and taken to its decision; the
    URL of its status."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(timeout=120, headers=headers) as client:  # the first request warms up
        answer = client.post(
            f"{cluster.lb_url}/api/v1/applications",
            json={"service": "bench-status", "data": {"registration_number": "BR-2019-004211"}},
        )
        if answer.status_code != 201:
            raise SystemExit(f"submission answered {answer.status_code}: {answer.text}")
        url = f"{cluster.lb_url}/api/v1/applications/{answer.json()['id']}/status"

        def state() -> str:
            response = client.get(url)
            response.raise_for_status()
            return str(response.json()["application"]["state"])

        with contextlib.suppress(TimeoutError):  # its status is read all the same
            wait_for(lambda: state() != "in_progress", 60, "the application's decision")
        print(f"status read: an application in state {state()!r}")
    return url


def http_phase(cluster: Cluster, key: str) -> None:
    """Hello world and status reads, alternating rounds; medians and the ratio."""
    hello = start_hello(cluster)
    status = submit_for_status(cluster, key)
    floor = start_floor(cluster, status)
    auth = {"BENCH_AUTHORIZATION": f"Bearer {key}"}
    targets: dict[str, tuple[str, dict[str, str] | None]] = {
        "FastAPI hello world": (hello, None),
        "application status": (status, auth),
        "floor (raw asyncpg)": (floor, auth),
    }
    for url, env in targets.values():
        wrk(cluster, url, 2, env)  # warm up: imports, pools, caches
    samples: dict[str, list[Sample]] = {name: [] for name in targets}
    for _ in range(ROUNDS):
        for name, (url, env) in targets.items():
            samples[name].append(wrk(cluster, url, SECONDS, env))
    medians = {
        name: Sample(
            statistics.median(s.rate for s in got),
            statistics.median(s.p50_ms for s in got),
            statistics.median(s.p99_ms for s in got),
            sum(s.errors for s in got),
        )
        for name, got in samples.items()
    }
    print(
        f"HTTP through HAProxy to 2 API hosts x {cluster.api_workers} uvicorn workers, wrk -t1 "
        f"-c{CONNECTIONS} from a client host, {ROUNDS} alternating rounds of {SECONDS} s, "
        f"medians (load average {_load()} after):"
    )
    for name, m in medians.items():
        rates = ", ".join(f"{s.rate:,.0f}" for s in samples[name])
        print(
            f"  {name:20} {m.rate:9,.0f} req/s  p50 {m.p50_ms:7.1f} ms  p99 {m.p99_ms:7.1f} ms"
            f"  (rounds: {rates}; socket errors {m.errors})"
        )
    hello_m, status_m = medians["FastAPI hello world"], medians["application status"]
    floor_m = medians["floor (raw asyncpg)"]
    print(
        f"  ratio status / hello world: {status_m.rate / hello_m.rate:.3f} (goal >= 0.25); "
        f"status p99 {status_m.p99_ms:.1f} ms (goal < 50 ms)"
    )
    print(
        f"  ratio floor / hello world: {floor_m.rate / hello_m.rate:.3f}; floor p99 "
        f"{floor_m.p99_ms:.1f} ms; ratio status / floor: {status_m.rate / floor_m.rate:.3f}"
    )


# -- engine on the worker hosts -------------------------------------------------------------
def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def pgbench(cluster: Cluster, *, initialise: bool) -> float:
    """pgbench simple-update (4 clients, as ``bench_engine.py``) from worker1 against the
    primary over the bridge; TPS."""
    env = {"PATH": os.environ["PATH"], "PGPASSWORD": cluster.secret["db_password"]}
    args = ["-h", cluster.ip(cluster.primary()), "-p", str(PG_PORT), "-U", "civicloom"]
    if initialise:
        cluster.in_ns("worker1", ["pgbench", "-i", "-q", *args, "civicloom"], env=env)
    seconds = bench_engine.PGBENCH_SECONDS
    run = ["pgbench", "-b", "simple-update", "-c", "4", "-j", "2", "-T", str(seconds)]
    out = cluster.in_ns("worker1", [*run, *args, "civicloom"], env=env, timeout=seconds + 120)
    match = re.search(r"tps = ([0-9.]+)", out)
    assert match, out
    return float(match.group(1))


async def _submit(cluster: Cluster, count: int) -> None:
    container = build_container(cluster.settings())
    try:

        async def submitter(first: int) -> None:
            for n in range(first, count, 4):
                await submit_application(
                    container.uow(),
                    container.clock,
                    bench_engine.APPLICANT,
                    SubmitApplication(service_id="bench-four-steps", data={"n": n}),
                )

        await asyncio.gather(*(submitter(first) for first in range(4)))
    finally:
        await container.database.dispose()


async def _approved(cluster: Cluster) -> int:
    container = build_container(cluster.settings())
    try:
        async with container.uow() as uow:
            count = await uow.session.scalar(
                select(func.count()).where(
                    ApplicationRow.service_id == "bench-four-steps",
                    ApplicationRow.state == "approved",
                )
            )
    finally:
        await container.database.dispose()
    return int(count or 0)


def drain_process(name: str, signals: Path) -> None:
    """One worker process on a worker host (``bench_cluster.py drain``): the hosts' settings
    from the environment, ``BENCH_RUNNERS`` step runners with no-op capabilities; ready once
    its connections are open, starts on ``go``, drains until three empty polls in a row."""
    from civicloom.settings import Settings

    async def main() -> None:
        container = build_container(Settings())
        gateway = InProcessGateway(
            {f"noop.{i}": bench_engine.noop for i in range(bench_engine.STEPS_PER_APP)}
        )
        runner = StepRunner(container, gateway)

        async def connect() -> None:
            async with container.uow() as uow:
                await uow.session.scalar(select(func.pg_sleep(0.05)))

        await asyncio.gather(*(connect() for _ in range(bench_engine.RUNNERS)))
        (signals / f"{name}.ready").touch()
        await asyncio.to_thread(_wait_for_file, signals / "go")
        cpu = time.process_time()

        async def drain(worker: str) -> None:
            idle = 0
            while idle < 3:
                idle = idle + 1 if await runner.run_once(worker) == 0 else 0

        await asyncio.gather(*(drain(f"{name}-{i}") for i in range(bench_engine.RUNNERS)))
        # time.monotonic: CLOCK_MONOTONIC, the same clock in every namespace and process.
        done = {"finished": time.monotonic(), "cpu": time.process_time() - cpu}
        (signals / f"{name}.json").write_text(json.dumps(done))
        await container.database.dispose()

    asyncio.run(main())


def _wait_for_file(path: Path) -> None:
    while not path.exists():
        time.sleep(0.005)


def _cpu_seconds(cluster: Cluster, host: str) -> float:
    """CPU used by everything on a host so far: its processes and the children they reaped
    (a PostgreSQL backend's, once its connection closed, is in the postmaster's)."""
    ticks = 0
    for pid in run(["ip", "netns", "pids", cluster.ns(host)]).split():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


class WaitSampler(threading.Thread):
    """What the primary's active sessions wait for, sampled every 50 ms."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn, self.stop = dsn, threading.Event()
        self.counts: Counter[str] = Counter()
        self.samples = 0

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.is_set():
                for what, count in conn.execute(WAITS).fetchall():
                    self.counts[str(what)] += int(count)
                self.samples += 1
                self.stop.wait(0.05)


@dataclass(frozen=True)
class Drained:
    """One layout's drain."""

    steps_per_s: float
    worker_cpu_ms: float  # per step, all worker processes
    pg_cpu_ms: dict[str, float]  # per step, per database host
    active: float  # active sessions on the primary, on average
    waits: Counter[str]  # share of active-session samples per wait event


def drain(cluster: Cluster, index: int, layout: tuple[str, ...]) -> Drained:
    """Drain what is queued with one worker process per entry of ``layout`` (its host)."""
    signals = cluster.root / f"drain-{index}"
    signals.mkdir()
    env = cluster.app_env() | {
        "CIVICLOOM_WORKER_BATCH_SIZE": "50",
        "CIVICLOOM_DB_POOL_SIZE": str(max(4, bench_engine.RUNNERS * 2)),
        "BENCH_RUNNERS": str(bench_engine.RUNNERS),
    }
    names = [f"{host}-p{n}" for n, host in enumerate(layout)]
    procs = [
        cluster.spawn(host, f"drain{index}-{name}", [*DRAIN, name, str(signals)], env)
        for name, host in zip(names, layout, strict=True)
    ]

    def ready() -> bool:
        if any(p.poll() is not None for p in procs):
            raise SystemExit(f"a worker process exited:\n{cluster.log(layout[0])}")
        return all((signals / f"{name}.ready").exists() for name in names)

    wait_for(ready, 240, "worker processes ready")
    primary = cluster.primary()
    db_hosts = (primary, "pg2" if primary == "pg1" else "pg1")
    cpu_before = {host: _cpu_seconds(cluster, host) for host in db_hosts}
    sampler = WaitSampler(cluster.libpq_url())
    sampler.start()
    started = time.monotonic()
    (signals / "go").touch()
    for proc in procs:
        if proc.wait(timeout=1800) != 0:
            raise SystemExit(f"a worker process failed:\n{cluster.log(layout[0])}")
    sampler.stop.set()
    sampler.join(10)
    done = [json.loads((signals / f"{name}.json").read_text()) for name in names]
    steps = APPS * bench_engine.STEPS_PER_APP
    seconds = max(d["finished"] for d in done) - started
    total = sum(sampler.counts.values()) or 1
    return Drained(
        steps_per_s=steps / seconds,
        worker_cpu_ms=sum(d["cpu"] for d in done) / steps * 1000,
        pg_cpu_ms={
            host: (_cpu_seconds(cluster, host) - cpu_before[host]) / steps * 1000
            for host in db_hosts
        },
        active=total / max(sampler.samples, 1),
        waits=Counter({what: n / total for what, n in sampler.counts.items()}),
    )


def engine_phase(cluster: Cluster) -> None:
    """pgbench, then every layout, then pgbench again."""
    for host in ("worker1", "worker2"):  # the drains are the only ones claiming steps
        cluster.kill_host(host)
    before = pgbench(cluster, initialise=True)
    results = []
    for index, layout in enumerate(LAYOUTS):
        asyncio.run(_submit(cluster, APPS))
        load = _load()
        results.append((layout, load, drain(cluster, index, layout)))
    after = pgbench(cluster, initialise=False)
    tps = (before + after) / 2
    approved = asyncio.run(_approved(cluster))
    assert approved == APPS * len(LAYOUTS), f"{approved} of {APPS * len(LAYOUTS)} approved"
    print(
        f"engine: {APPS} applications x {bench_engine.STEPS_PER_APP} no-op steps per layout, "
        f"{bench_engine.RUNNERS} runners per worker process, against the primary with its "
        "synchronous replica"
    )
    print(
        f"  pgbench simple-update from worker1, 4 clients, {bench_engine.PGBENCH_SECONDS} s: "
        f"{before:,.0f} TPS before, {after:,.0f} TPS after; ratios below use {tps:,.0f}"
    )
    one = results[0][2].steps_per_s
    for layout, load, r in results:
        hosts = " + ".join(f"{layout.count(h)} on {h}" for h in dict.fromkeys(layout))
        waits = ", ".join(f"{what} {share:.0%}" for what, share in r.waits.most_common(4))
        pg = ", ".join(f"{host} {ms:.2f}" for host, ms in r.pg_cpu_ms.items())
        print(
            f"  {hosts:24} {r.steps_per_s:7,.0f} steps/s  ratio {r.steps_per_s / tps:.3f}  "
            f"x{r.steps_per_s / one:.2f} of one process ({len(layout)} processes)  "
            f"CPU ms/step: workers {r.worker_cpu_ms:.2f}, {pg}  "
            f"primary: {r.active:.1f} active sessions ({waits})  load {load}"
        )


# -- the run --------------------------------------------------------------------------------
def _interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM as Ctrl-C: the finally below tears the cluster down


def main() -> int:
    """Bring the cluster up, measure, tear it down."""
    missing = [tool for tool in ("haproxy", "wrk", "ip") if shutil.which(tool) is None]
    if os.geteuid() != 0 or missing:
        print(f"skipped: needs root and {', '.join(missing) or 'network namespaces'}")
        return 0
    signal.signal(signal.SIGTERM, _interrupted)
    print(f"machine: {os.cpu_count()} cores, shared; load average {_load()} before set-up")
    try:
        cluster = up(owner=os.getpid(), api_workers=API_WORKERS, extra_routes=(HELLO, FLOOR))
    except (ClusterError, TimeoutError) as exc:
        print(f"skipped: the cluster did not come up: {exc}")
        return 1
    try:
        print(f"cluster {cluster.tag} up; set-up steps (seconds): {cluster.timings}")
        cluster.add_host("client", CLIENT_OCTET)
        blueprints = [status_blueprint(), bench_engine.blueprint()]
        key = counter_service(cluster, blueprints, actor="system:benchmark")
        if "http" in PHASES:
            http_phase(cluster, key)
        if "engine" in PHASES:
            engine_phase(cluster)
        print(f"load average {_load()} at the end")
    finally:
        cluster.down()
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["drain"]:
        drain_process(sys.argv[2], Path(sys.argv[3]))
        raise SystemExit(0)
    raise SystemExit(main())
