"""Memory under a soak (issue 23): the resident memory of every API worker process and of the
case-engine worker while a mixed load runs for ``SOAK_SECONDS`` (default 600), its growth after
warm-up and each process's peak.

Goals (issue 23): an API worker's peak RSS stays under 300 MiB, and each process's RSS at the
end of the soak is within 10 % of its RSS after warm-up (ratio end ÷ warm-up ≤ 1.10). RSS is an
absolute figure, so there is no hello-world reference here; what makes runs comparable is the
ratio end ÷ warm-up, printed beside the machine's load average and the requests served.

The set-up is ``bench_volume.py``'s: a scratch PostgreSQL database migrated and seeded with
``SOAK_APPS`` applications (default 20 000) through ``civicloom demo seed``, or
``BENCH_VOLUME_URL``, an already seeded database, used as found. Then, as separate processes,
what ``civicloom run`` starts: ``civicloom serve --workers 2`` (uvicorn, two worker processes),
``civicloom worker`` and the department simulators (so automated steps really call
departments), on free loopback ports. The profile is ``test``: production refuses dev login,
and the citizens and officers of this load sign in with the demo personas' bearer tokens
(``Bearer dev:alice``); the request path is otherwise the production one (JSON logs at
WARNING, the shared rate limits, sessions, audit, templates).

The load is ``SOAK_CLIENTS`` (default 4) concurrent clients in a closed loop (no think time),
each picking one action at a time by weight: a citizen submits an application (Alice, for
Golden Dragon Kitchen), reads an application's status (her seeded ones and those submitted in
this run) or her "my applications" page; an officer opens the queue page or the tasks API, or
completes a task (claim, approve); anyone opens the public performance page (half of the time
revalidating with ``If-None-Match``); the service owner opens the KPI dashboard.

Every ``SOAK_SAMPLE_SECONDS`` (default 5) the script reads ``VmRSS`` of each process from
``/proc``; warm-up is the first ``SOAK_WARMUP_SECONDS`` (default 60) of the load. It prints RSS
after warm-up and at the end, the ratio, the peak (the kernel's ``VmHWM``, which sees spikes
between samples), CPU seconds per process, and the requests served by kind.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import secrets
import socket
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

# ruff: noqa: E402 - after the path set-up above
import httpx
from sqlalchemy import text

from benchmarks.bench_volume import nearest_rank, on_volume_database
from civicloom import supervisor
from civicloom.bootstrap import build_container
from civicloom.demo import RESTAURANT_ANSWERS, load_demo, seed_applications
from civicloom.kpis import refresh_report_snapshots, refresh_service_days
from civicloom.kpis.api import kpi_config
from civicloom.settings import Settings

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
WARMUP_SECONDS = float(os.environ.get("SOAK_WARMUP_SECONDS", "60"))
SAMPLE_SECONDS = float(os.environ.get("SOAK_SAMPLE_SECONDS", "5"))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "4"))
APPS = int(os.environ.get("SOAK_APPS", "20000"))
API_WORKERS = 2
PEAK_GOAL_MIB = 300.0
GROWTH_GOAL = 1.10
HTML = {"Accept": "text/html"}
SERVICE = "open-a-restaurant"
OFFICERS = ("olivia", "nora", "elena", "lars")


def _load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def _bearer(persona: str, html: bool = False) -> dict[str, str]:
    headers = {"Authorization": f"Bearer dev:{persona}"}
    return {**HTML, **headers} if html else headers


def free_port_block(size: int) -> int:
    """The first of ``size`` consecutive loopback ports nobody listens on (other benchmarks and
    test sessions share this machine, so ``civicloom run``'s 8000/8101 may be taken)."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20_000, 60_000)
        sockets = []
        try:
            for port in range(base, base + size):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
        return base
    raise RuntimeError("no free block of loopback ports")


# --- /proc -----------------------------------------------------------------------------------


def _status_kib(pid: int, field_name: str) -> int | None:
    """A ``/proc/PID/status`` field in KiB (``VmRSS``, ``VmHWM``), None once the process is
    gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def api_worker_pids(manager: int) -> list[int]:
    """The uvicorn worker processes (``multiprocessing`` spawn children) of the manager."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == manager and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


@dataclass
class Tracked:
    """One process whose memory is sampled."""

    name: str
    pid: int
    samples: list[tuple[float, int]] = field(default_factory=list)  # (seconds into load, KiB)
    peak_kib: int = 0
    cpu_at_warmup: float | None = None
    cpu_at_end: float | None = None

    def sample(self, at: float) -> None:
        rss = _status_kib(self.pid, "VmRSS")
        if rss is not None:
            self.samples.append((at, rss))
        self.peak_kib = max(self.peak_kib, _status_kib(self.pid, "VmHWM") or 0, rss or 0)

    def at_or_after(self, seconds: float) -> int | None:
        return next((kib for at, kib in self.samples if at >= seconds), None)


# --- the load --------------------------------------------------------------------------------


@dataclass
class Served:
    """Requests by kind: how many, which statuses, how long."""

    ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    failures: list[str] = field(default_factory=list)

    def total(self) -> int:
        return sum(len(v) for v in self.ms.values())


class Load:
    """The mixed load of the module docstring, shared by every client."""

    def __init__(self, client: httpx.AsyncClient, alice_ids: list[str]) -> None:
        self.client = client
        self.status_ids = list(alice_ids)
        self.served = Served()
        self.etag = ""
        self.submitted = 0
        self.rng = random.Random(7)
        self.actions = [
            (self.submit, 2),
            (self.status, 6),
            (self.my_applications, 3),
            (self.queue_page, 2),
            (self.tasks_api, 2),
            (self.complete_task, 2),
            (self.performance, 3),
            (self.dashboard, 1),
        ]

    async def call(
        self, kind: str, method: str, url: str, ok: tuple[int, ...] = (200,), **kw: Any
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await self.client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            self.served.failures.append(f"{kind}: {type(exc).__name__} {exc}")
            self.served.statuses[kind][0] += 1
            return None
        self.served.ms[kind].append((time.perf_counter() - started) * 1000)
        self.served.statuses[kind][response.status_code] += 1
        if response.status_code not in ok and len(self.served.failures) < 50:
            self.served.failures.append(f"{kind}: {response.status_code} {response.text[-400:]}")
        return response

    async def submit(self) -> None:
        self.submitted += 1
        data = {**RESTAURANT_ANSWERS, "seating": self.rng.randrange(10, 120)}
        response = await self.call(
            "citizen submits",
            "POST",
            "/api/v1/applications",
            ok=(201,),
            json={"service": SERVICE, "data": data},
            headers={**_bearer("alice"), "Idempotency-Key": f"soak-{secrets.token_hex(8)}"},
        )
        if response is not None and response.status_code == 201:
            self.status_ids.append(response.json()["id"])

    async def status(self) -> None:
        # Recent ones more often, as people look at what they just sent.
        ids = self.status_ids
        pick = ids[-1 - min(len(ids) - 1, int(self.rng.expovariate(1 / 20)))]
        await self.call(
            "citizen reads status",
            "GET",
            f"/api/v1/applications/{pick}/status",
            headers=_bearer("alice"),
        )

    async def my_applications(self) -> None:
        await self.call(
            "citizen: my applications page",
            "GET",
            "/applications",
            headers=_bearer("alice", html=True),
        )

    async def queue_page(self) -> None:
        await self.call(
            "officer: queue page",
            "GET",
            "/backoffice/tasks",
            headers=_bearer(self.rng.choice(OFFICERS), html=True),
        )

    async def tasks_api(self) -> None:
        await self.call(
            "officer: tasks API",
            "GET",
            "/api/v1/tasks",
            params={"limit": 50},
            headers=_bearer(self.rng.choice(OFFICERS)),
        )

    async def complete_task(self) -> None:
        officer = self.rng.choice(OFFICERS)
        listed = await self.call(
            "officer: open tasks",
            "GET",
            "/api/v1/tasks",
            params={"state": "awaiting_officer", "limit": 20},
            headers=_bearer(officer),
        )
        if listed is None or listed.status_code != 200:
            return
        free = [t for t in listed.json() if not t.get("assignee")]
        if not free:
            return
        task = self.rng.choice(free)["id"]
        claimed = await self.call(
            "officer: claim",
            "POST",
            f"/api/v1/tasks/{task}/claim",
            ok=(200, 409),  # a colleague (another client) took it first
            headers=_bearer(officer),
        )
        if claimed is None or claimed.status_code != 200:
            return
        await self.call(
            "officer: decide",
            "POST",
            f"/api/v1/tasks/{task}/decision",
            ok=(200, 409),
            json={"decision": "approve", "reason": "Checked during the soak."},
            headers=_bearer(officer),
        )

    async def performance(self) -> None:
        revalidate = self.rng.random() < 0.5 and self.etag
        headers = {**HTML, "If-None-Match": self.etag} if revalidate else HTML
        response = await self.call(
            "public performance page",
            "GET",
            f"/performance/{SERVICE}",
            ok=(200, 304, 503),  # 503: before the worker stored the figures (ADR 0082)
            headers=headers,
        )
        if response is not None and response.headers.get("etag"):
            self.etag = response.headers["etag"]

    async def dashboard(self) -> None:
        await self.call(
            "service owner: KPI dashboard",
            "GET",
            "/backoffice/kpis",
            params={"service": SERVICE},
            ok=(200, 202),  # 202: being prepared by the worker (ADR 0082)
            headers=_bearer("sam", html=True),
        )

    async def client_loop(self, until: float) -> None:
        choices = [action for action, _ in self.actions]
        weights = [weight for _, weight in self.actions]
        while time.monotonic() < until:
            await self.rng.choices(choices, weights)[0]()


async def sample_loop(tracked: list[Tracked], started: float, until: float) -> None:
    """Sample every process's RSS every ``SAMPLE_SECONDS`` until the load ends."""
    warm_cpu_taken = False
    while True:
        at = time.monotonic() - started
        for t in tracked:
            t.sample(at)
        if not warm_cpu_taken and at >= WARMUP_SECONDS:
            warm_cpu_taken = True
            for t in tracked:
                t.cpu_at_warmup = _cpu_seconds(t.pid)
            print(f"warm-up over at {at:.0f} s ({_load()})", flush=True)
        if time.monotonic() >= until:
            return
        await asyncio.sleep(min(SAMPLE_SECONDS, max(0.0, until - time.monotonic())))


# --- the run ---------------------------------------------------------------------------------


def _environment(url: str, var_dir: Path, base_port: int) -> dict[str, str]:
    """What every process of the group runs with (``civicloom run``'s settings, on free
    ports, test profile)."""
    return {
        "CIVICLOOM_PROFILE": "test",
        "CIVICLOOM_DATABASE_URL": url,
        "CIVICLOOM_VAR_DIR": str(var_dir),
        "CIVICLOOM_SECRET_KEY": secrets.token_urlsafe(32),
        "CIVICLOOM_HOST": "127.0.0.1",
        "CIVICLOOM_PORT": str(base_port),
        "CIVICLOOM_WORKER_METRICS_PORT": str(base_port + 1),
        "CIVICLOOM_SIMULATOR_BASE_PORT": str(base_port + 2),
        "CIVICLOOM_LOG_LEVEL": "WARNING",
        "CIVICLOOM_LOG_JSON": "true",
        # One persona submits everything here; the per-caller limit would measure the 429 path.
        "CIVICLOOM_SUBMISSION_RATE_PER_MINUTE": "1000000",
    }


async def prepare(settings: Settings) -> list[str]:
    """Seed (unless the database is given), analyse, run the worker's KPI jobs once as a
    deployment's first worker would; Alice's seeded application ids."""
    container = build_container(settings)
    try:
        await load_demo(container, progress=lambda _: None)
        if "BENCH_VOLUME_URL" not in os.environ:
            report = await seed_applications(container, APPS, progress=lambda _: None)
            print(f"seeded {APPS} applications: {report.total_rows} rows in {report.seconds:.1f} s")
        async with container.uow() as uow:
            await uow.session.execute(text("ANALYZE"))
            seeded = int(
                await uow.session.scalar(
                    text("SELECT count(*) FROM applications WHERE id LIKE 'seed-%'")
                )
                or 0
            )
        await refresh_service_days(container.uow())
        await refresh_report_snapshots(container.uow(), container.clock, kpi_config(container))
    finally:
        await container.close()
        await container.database.dispose()
    print(f"{seeded} seeded applications in the database ({_load()})", flush=True)
    return [f"seed-{i:012d}" for i in range(0, min(seeded, 50 * 500), 50)]


def start_group(settings: Settings, logs: Path) -> list[supervisor.Child]:
    """``civicloom run``'s processes, the API with ``--workers 2``, each logging to a file in
    ``logs``; waits until they answer."""
    children = supervisor._children(settings, with_simulators=True)
    for child in children:
        if child.name == "api":
            child.argv += ["--workers", str(API_WORKERS)]
        with (logs / f"{child.name.replace(':', '-')}.log").open("ab") as log:
            child.process = subprocess.Popen(
                child.argv, env={**os.environ, **child.env}, stdout=log, stderr=log
            )
    not_ready = supervisor._wait_ready(children, timeout=180)
    if not_ready:
        stop_group(children)
        raise RuntimeError(f"not ready after 180 s: {', '.join(not_ready)}")
    return children


def stop_group(children: list[supervisor.Child]) -> None:
    """The API and the worker first, then the departments they were calling."""
    platform = [c for c in children if not c.name.startswith("sim:")]
    supervisor._stop_all(platform)
    supervisor._stop_all([c for c in children if c not in platform])


def log_summary(logs: Path) -> None:
    """How many warnings and errors each process logged (JSON lines), and the first errors."""
    print("\nprocess logs (warning / error lines):")
    for path in sorted(logs.glob("*.log")):
        lines = path.read_text(errors="replace").splitlines()
        warnings = [line for line in lines if '"level": "warning"' in line]
        errors = [line for line in lines if '"level": "error"' in line or "Traceback" in line]
        print(f"  {path.stem:20} {len(warnings):6} / {len(errors)}")
        for line in errors[:3]:
            print(f"    {line[:300]}")


async def soak(children: list[supervisor.Child], base_url: str, alice_ids: list[str]) -> None:
    """Drive the load, sample, print."""
    by_name = {c.name: c for c in children}
    api, worker = by_name["api"].process, by_name["worker"].process
    assert api is not None
    assert worker is not None
    pids = api_worker_pids(api.pid)
    for _ in range(100):
        if len(pids) == API_WORKERS:
            break
        await asyncio.sleep(0.1)
        pids = api_worker_pids(api.pid)
    assert len(pids) == API_WORKERS, f"uvicorn worker processes: {pids}"
    tracked = [
        *(Tracked(f"API worker {n} (pid {pid})", pid) for n, pid in enumerate(pids, 1)),
        Tracked(f"case-engine worker (pid {worker.pid})", worker.pid),
        Tracked(f"uvicorn manager (pid {api.pid})", api.pid),
    ]
    # A connection per request: the kernel hands each to whichever uvicorn worker accepts first,
    # as it would the many browsers of a real load (a few kept-alive connections can all land
    # on one worker and leave the other idle).
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=120.0, limits=limits) as client:
        load = Load(client, alice_ids)
        if not load.status_ids:  # nothing seeded: the first submission gives one
            await load.submit()
        print(
            f"soak: {SOAK_SECONDS:.0f} s, {CLIENTS} clients, warm-up {WARMUP_SECONDS:.0f} s, "
            f"sampled every {SAMPLE_SECONDS:.0f} s ({_load()})",
            flush=True,
        )
        started = time.monotonic()
        until = started + SOAK_SECONDS
        load_before = os.getloadavg()
        await asyncio.gather(
            sample_loop(tracked, started, until),
            *(load.client_loop(until) for _ in range(CLIENTS)),
        )
        elapsed = time.monotonic() - started
        for t in tracked:
            t.sample(elapsed)
            t.cpu_at_end = _cpu_seconds(t.pid)
    if api_worker_pids(api.pid) != pids:
        print(f"NOTE: uvicorn replaced a worker process: {pids} -> {api_worker_pids(api.pid)}")
    report(tracked, load.served, elapsed, load_before)


def _mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f}"


def report(
    tracked: list[Tracked], served: Served, elapsed: float, load_before: tuple[float, ...]
) -> None:
    """The tables: memory per process, a timeline, then the requests."""
    print(
        f"\nload average: {' '.join(f'{x:.1f}' for x in load_before)} at the start, "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end "
        "(the machine is shared with other test sessions)"
    )
    print(
        f"\n{'process':38} {'warm-up MiB':>11} {'end MiB':>8} {'end/warm':>9} "
        f"{'peak MiB':>9} {'CPU s':>7}"
    )
    verdicts = []
    for t in tracked:
        warm, end = t.at_or_after(WARMUP_SECONDS), (t.samples[-1][1] if t.samples else None)
        ratio = end / warm if warm and end else math.nan
        cpu = (t.cpu_at_end or 0.0) - (t.cpu_at_warmup or 0.0)
        print(
            f"{t.name:38} {_mib(warm):>11} {_mib(end):>8} {ratio:9.3f} "
            f"{_mib(t.peak_kib):>9} {cpu:7.1f}"
        )
        if t.name.startswith(("API worker", "case-engine")):
            verdicts.append(ratio <= GROWTH_GOAL)
        if t.name.startswith("API worker"):
            verdicts.append(t.peak_kib / 1024 <= PEAK_GOAL_MIB)
    print(
        f"goals: end/warm-up ≤ {GROWTH_GOAL:.2f} (API workers, case-engine worker); "
        f"API worker peak ≤ {PEAK_GOAL_MIB:.0f} MiB: {'met' if all(verdicts) else 'NOT met'}"
    )
    print("(CPU s: user + system after warm-up; peak: the kernel's VmHWM since start)")

    step = max(SAMPLE_SECONDS, SOAK_SECONDS / 10)
    print("\nRSS over time (MiB):")
    print(f"{'s':>6} " + " ".join(f"{t.name.split(' (')[0]:>20}" for t in tracked))
    mark = 0.0
    while mark <= elapsed:
        row = [_mib(t.at_or_after(mark)) for t in tracked]
        print(f"{mark:6.0f} " + " ".join(f"{v:>20}" for v in row))
        mark += step

    total = served.total()
    cpu_api = sum(
        (t.cpu_at_end or 0.0) - (t.cpu_at_warmup or 0.0)
        for t in tracked
        if t.name.startswith("API worker")
    )
    print(
        f"\nrequests served: {total} in {elapsed:.0f} s ({total / elapsed:.1f}/s); "
        f"API workers' CPU after warm-up {cpu_api:.0f} s"
    )
    print(f"{'kind':32} {'count':>7} {'p50 ms':>8} {'p95 ms':>8}  statuses")
    for kind, times in served.ms.items():
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(served.statuses[kind].items()))
        print(
            f"{kind:32} {len(times):7} {nearest_rank(times, 50):8.0f} "
            f"{nearest_rank(times, 95):8.0f}  {statuses}"
        )
    if served.failures:
        print(f"\nunexpected answers ({len(served.failures)}, first 10):")
        for line in served.failures[:10]:
            print("  " + line)


async def _prepare_and_soak(url: str, var_dir: Path) -> None:
    base = free_port_block(8)
    os.environ.update(_environment(url, var_dir, base))  # the children inherit it
    settings = Settings()
    alice_ids = await prepare(settings)
    logs = var_dir / "logs"
    logs.mkdir()
    children = start_group(settings, logs)
    try:
        await soak(children, f"http://127.0.0.1:{base}", alice_ids)
    finally:
        stop_group(children)
        log_summary(logs)


def main() -> None:
    """Soak on ``BENCH_VOLUME_URL`` as found, or on a scratch database seeded here."""
    on_volume_database("bench_soak", _prepare_and_soak)


if __name__ == "__main__":
    main()
