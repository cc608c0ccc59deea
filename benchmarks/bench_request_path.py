"""The request path's cost: civicloom's ``/healthz``, ``/readyz`` and a citizen's status read
against a FastAPI hello world, measured in the same run, as ratios (issue 23, ADR 0062, 0077).

The database is a scratch PostgreSQL database (or ``--database-url``) holding the demo services,
one application of Alice's (``civicloom demo seed``) and a live session of hers; the status
read carries her session cookie. Two measures, both alternating the apps round by round so a
busy machine slows each alike:

- **in process**: the ASGI app called directly (no socket, no HTTP parsing), microseconds per
  request of this process's CPU (the primary figure on a loaded machine) and of wall clock;
- **over HTTP** (when ``wrk`` is installed): one uvicorn process per app, ``wrk -t1 -c32`` for
  a few seconds per round, requests per second and p99.

``--profile PATH`` (``status`` for the status read) prints cProfile's own CPU time by function
and by layer instead. ``--src DIR`` measures another tree's ``src`` in a subprocess.
Logs go to /dev/null in both apps (a deployment ships them; writing them costs more).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from benchmarks.bench_engine import create_database, drop_database
from civicloom.bootstrap import build_container
from civicloom.db.migrate import upgrade
from civicloom.demo import load_demo, seed_applications
from civicloom.identity import load_personas, principal_for_persona
from civicloom.identity.sessions import start_session
from civicloom.settings import Profile, Settings
from civicloom.web.session import SESSION_COOKIE, session_policy

ROOT = Path(__file__).resolve().parents[1]
STATUS = "/api/v1/applications/seed-000000000000/status"
"""The status read: Alice's application (the first one ``civicloom demo seed`` writes), read
through the citizen status API with her browser session cookie, as a signed-in citizen does."""
PATHS = ("/hello", "/healthz", "/readyz", STATUS)
LABELS = {"/hello": "/hello", "/healthz": "/healthz", "/readyz": "/readyz", STATUS: "status"}

hello_app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})
"""FastAPI with nothing around it: its own telemetry off, as in a process without a tracer
provider (in process, civicloom installs one globally)."""


@hello_app.get("/hello")
async def hello() -> dict[str, str]:
    """The reference endpoint: FastAPI with nothing around it."""
    return {"hello": "world"}


@dataclass(frozen=True)
class World:
    """The database the civicloom app serves and the status reader's session cookie."""

    url: str
    var: Path
    cookie: str

    def headers(self, path: str) -> list[tuple[bytes, bytes]]:
        """The request headers of ``path``: the status read carries the session cookie."""
        if path != STATUS:
            return []
        return [(b"cookie", f"{SESSION_COOKIE}={self.cookie}".encode())]


@contextmanager
def world(url: str | None) -> Iterator[World]:
    """A migrated database (``url``, or a scratch PostgreSQL database dropped afterwards) with
    the demo services, one seeded application of Alice's and a live session of hers."""
    name = f"bench_reqpath_{uuid.uuid4().hex[:6]}"
    database = url or create_database(name)
    try:
        upgrade(Settings().migrations_dir, database)
        with tempfile.TemporaryDirectory() as tmp:
            var = Path(tmp)
            cookie = asyncio.run(_seed(database, var))
            yield World(database, var, cookie)
    finally:
        if url is None:
            drop_database(name)


async def _seed(url: str, var: Path) -> str:
    container = build_container(Settings(profile=Profile.TEST, database_url=url, var_dir=var))
    try:
        await load_demo(container, progress=lambda _: None)
        async with container.uow() as uow:
            seeded = await uow.session.scalar(
                text("SELECT count(*) FROM applications WHERE id = 'seed-000000000000'")
            )
        if not seeded:
            await seed_applications(container, 1, progress=lambda _: None)
        alice = load_personas(container.settings.blueprints_dir)["alice"]
        return await start_session(
            container.uow(),
            container.clock,
            principal_for_persona(alice),
            session_policy(container.settings),
        )
    finally:
        await container.close()
        await container.database.dispose()


def _scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"user-agent", b"bench"), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


async def _drive(
    app: Any, path: str, headers: list[tuple[bytes, bytes]], count: int
) -> tuple[float, float]:
    """Microseconds per request, wall clock and this process's CPU, calling the ASGI app
    ``count`` times (the CPU figure leaves out PostgreSQL's own work and waiting for a core)."""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    statuses: set[int] = set()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        await app(_scope(path, headers), receive, send)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if statuses != {200}:
        raise SystemExit(f"{path} answered {sorted(statuses)}")
    return elapsed / count * 1e6, cpu / count * 1e6


def _civicloom_app(w: World) -> Any:
    from civicloom.app import create_app

    settings = Settings(profile=Profile.TEST, database_url=w.url, var_dir=w.var)
    return create_app(build_container(settings))


def in_process(w: World, rounds: int, count: int) -> dict[str, dict[str, float]]:
    """Median microseconds per request (CPU and wall) for each path over ``rounds``
    alternating rounds."""
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - the apps' log lines

    async def run() -> dict[str, dict[str, float]]:
        app = _civicloom_app(w)
        apps = {p: hello_app if p == "/hello" else app for p in PATHS}
        for path, target in apps.items():
            await _drive(target, path, w.headers(path), 50)  # warm up
        samples: dict[str, list[tuple[float, float]]] = {p: [] for p in apps}
        for _ in range(rounds):
            for path, target in apps.items():
                samples[path].append(await _drive(target, path, w.headers(path), count))
        return {
            p: {
                "wall_us": statistics.median(wall for wall, _ in s),
                "cpu_us": statistics.median(cpu for _, cpu in s),
            }
            for p, s in samples.items()
        }

    return asyncio.run(run())


def profile(path: str, w: World, count: int) -> None:
    """cProfile of ``count`` requests to ``path`` (``status``: the status read), the costliest
    calls by cumulative and by own time."""
    path = STATUS if path == "status" else path
    out = sys.stdout
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115

    async def run() -> None:
        app = hello_app if path == "/hello" else _civicloom_app(w)
        await _drive(app, path, w.headers(path), 50)
        # CPU time, not wall time: waiting for PostgreSQL (epoll) would otherwise dominate and
        # SQLAlchemy's greenlet switches smear wall time across unrelated frames.
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        await _drive(app, path, w.headers(path), count)
        profiler.disable()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(40)
        # Own CPU time by layer: cumulative figures are unreliable here (coroutines are counted
        # once per resumption, greenlets switch under the profiler), own time is not.
        layers: dict[str, float] = {}
        raw: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
        for (filename, _, _), (_, _, own, *_) in raw.items():
            layer = _layer(filename)
            layers[layer] = layers.get(layer, 0.0) + own
        total = sum(layers.values())
        print(
            f"own CPU time by layer, {count} requests to {path} ({total / count * 1e6:.0f} µs "
            "per request under the profiler):",
            file=out,
        )
        for layer, own in sorted(layers.items(), key=lambda kv: -kv[1]):
            print(f"  {layer:34} {own / total:6.1%}  {own / count * 1e6:7.1f} µs", file=out)

    asyncio.run(run())


_LAYERS = (
    ("civicloom/web/", "civicloom.web (middleware, guard)"),
    ("civicloom/observability/", "civicloom.observability"),
    ("civicloom/identity/", "civicloom.identity (session)"),
    ("civicloom/audit/", "civicloom.audit"),
    ("civicloom/", "civicloom (route, services)"),
    ("/fastapi/", "fastapi"),
    ("/starlette/", "starlette"),
    ("/pydantic", "pydantic"),
    ("/sqlalchemy/", "sqlalchemy"),
    ("/asyncpg/", "asyncpg"),
    ("/greenlet", "greenlet"),
    ("/opentelemetry/", "opentelemetry"),
    ("/structlog/", "structlog"),
    ("/prometheus_client/", "prometheus_client"),
    ("/anyio/", "anyio"),
    ("asyncio/", "asyncio (event loop)"),
    ("benchmarks/", "benchmark driver"),
)


def _layer(filename: str) -> str:
    for fragment, layer in _LAYERS:
        if fragment in filename:
            return layer
    return "builtins" if filename == "~" else "other (stdlib: json, uuid, re, ...)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(target: str, port: int, env: dict[str, str], factory: bool) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", target, "--port", str(port), "--no-access-log"]
    command += ["--log-level", "warning"] + (["--factory"] if factory else [])
    return subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
    )


def _wait_for(port: int, path: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n".encode())
                if b" 200 " in s.recv(100):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server on port {port} did not answer {path} in 30 s")


def _wrk(
    port: int, path: str, headers: list[tuple[bytes, bytes]], seconds: int
) -> tuple[float, float]:
    """Requests per second and p99 (ms) of one wrk run (1 thread, 32 connections)."""
    command = ["wrk", "-t1", "-c32", f"-d{seconds}s", "--latency"]
    for name, value in headers:
        command += ["-H", f"{name.decode()}: {value.decode()}"]
    out = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99 is not None
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    if "Non-2xx" in out:
        raise SystemExit(f"{path}: wrk saw non-2xx answers:\n{out}")
    return rate, float(p99.group(1)) * scale


def over_http(src: Path, w: World, rounds: int, seconds: int) -> dict[str, Any]:
    """Median req/s and p99 per path, one uvicorn process per app, rounds alternating."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{src}{os.pathsep}{ROOT}",
        "CIVICLOOM_PROFILE": "test",
        "CIVICLOOM_DATABASE_URL": w.url,
        "CIVICLOOM_VAR_DIR": str(w.var),
    }
    ports = {"/hello": _free_port(), "/civicloom": _free_port()}
    servers = [
        _serve("benchmarks.bench_request_path:hello_app", ports["/hello"], env, False),
        _serve("civicloom.bootstrap:uvicorn_app", ports["/civicloom"], env, True),
    ]
    try:
        _wait_for(ports["/hello"], "/hello")
        _wait_for(ports["/civicloom"], "/readyz")
        samples: dict[str, list[tuple[float, float]]] = {p: [] for p in PATHS}
        for _ in range(rounds):
            for path in PATHS:
                port = ports["/hello"] if path == "/hello" else ports["/civicloom"]
                samples[path].append(_wrk(port, path, w.headers(path), seconds))
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
    return {
        p: {
            "req_per_s": statistics.median(r for r, _ in s),
            "p99_ms": statistics.median(q for _, q in s),
        }
        for p, s in samples.items()
    }


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min), {os.cpu_count()} CPUs"


def main() -> int:
    """Measure, print a table and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the civicloom src tree")
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL; default: a scratch database"
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000, help="per in-process round")
    parser.add_argument("--seconds", type=int, default=5, help="per wrk round")
    parser.add_argument("--profile", metavar="PATH", help="cProfile one path (or: status), stop")
    parser.add_argument("--no-http", action="store_true", help="in process only")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.src.resolve() != (ROOT / "src").resolve() and not os.environ.get("BENCH_TREE"):
        # Measure another tree: rerun this script with that tree first on the path.
        env = {**os.environ, "PYTHONPATH": f"{args.src}{os.pathsep}{ROOT}", "BENCH_TREE": "1"}
        return subprocess.call([sys.executable, "-c", _RERUN, *sys.argv[1:]], env=env, cwd=ROOT)
    with world(args.database_url) as w:
        if args.profile:
            profile(args.profile, w, args.requests)
            return 0
        print(f"tree: {args.src}; before: {_load()}", flush=True)
        results: dict[str, Any] = {"in_process_us": in_process(w, args.rounds, args.requests)}
        if shutil.which("wrk") and not args.no_http:
            results["http"] = over_http(args.src, w, args.rounds, args.seconds)
    cpu = results["in_process_us"]
    print(f"after: {_load()}")
    print("in process (µs per request, median of rounds; ratio = hello / path):")
    for path in PATHS:
        label, hello_cpu, hello_wall = (
            LABELS[path],
            cpu["/hello"]["cpu_us"],
            cpu["/hello"]["wall_us"],
        )
        mine, wall = cpu[path]["cpu_us"], cpu[path]["wall_us"]
        print(
            f"  {label:9} CPU {mine:8.1f} µs  ratio {hello_cpu / mine:.3f}   "
            f"wall {wall:8.1f} µs  ratio {hello_wall / wall:.3f}"
        )
    if "http" in results:
        http = results["http"]
        print("over HTTP, one uvicorn process each, wrk -t1 -c32 (median of rounds):")
        for path in PATHS:
            rate, p99 = http[path]["req_per_s"], http[path]["p99_ms"]
            ratio = rate / http["/hello"]["req_per_s"]
            label = LABELS[path]
            print(f"  {label:9} {rate:8.0f} req/s  p99 {p99:6.1f} ms  ratio {ratio:.3f}")
    else:
        print("over HTTP: skipped (--no-http, or wrk is not installed: apt-get install wrk)")
    if args.json:
        print(json.dumps(results))
    return 0


_RERUN = (
    "import sys; sys.argv[0] = 'bench_request_path'; "
    "from benchmarks.bench_request_path import main; raise SystemExit(main())"
)

if __name__ == "__main__":
    raise SystemExit(main())
