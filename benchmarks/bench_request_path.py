"""The request path's cost: civicloom's ``/healthz`` and ``/readyz`` against a FastAPI
hello world, measured in the same run, as ratios (issue 23, ADR 0062).

Two measures, both alternating the apps round by round so a busy machine slows each alike:

- **in process**: the ASGI app called directly (no socket, no HTTP parsing), microseconds of
  CPU per request: what the middleware stack (request id, log line, tracing span, metrics,
  CSRF cookie, security headers) and the route cost;
- **over HTTP** (when ``wrk`` is installed: ``apt-get install wrk``): one uvicorn process per
  app, ``wrk`` for a few seconds per round, requests per second and p99.

``--profile PATH`` prints a cProfile breakdown of PATH in process instead.
``--src DIR`` measures another tree's ``src`` (e.g. main before a change) in a subprocess.
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
from pathlib import Path
from typing import Any

from fastapi import FastAPI

ROOT = Path(__file__).resolve().parents[1]
PATHS = ("/hello", "/healthz", "/readyz")

hello_app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})
"""FastAPI with nothing around it: its own telemetry off, as in a process without a tracer
provider (in process, civicloom installs one globally)."""


@hello_app.get("/hello")
async def hello() -> dict[str, str]:
    """The reference endpoint: FastAPI with nothing around it."""
    return {"hello": "world"}


def _scope(path: str) -> dict[str, Any]:
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
        "headers": [(b"host", b"bench"), (b"user-agent", b"bench")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


async def _drive(app: Any, path: str, count: int) -> float:
    """Microseconds per request, calling the ASGI app ``count`` times."""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    statuses: set[int] = set()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    started = time.perf_counter()
    for _ in range(count):
        await app(_scope(path), receive, send)
    elapsed = time.perf_counter() - started
    if statuses != {200}:
        raise SystemExit(f"{path} answered {sorted(statuses)}")
    return elapsed / count * 1e6


def _database(var: Path, url: str | None) -> str:
    from civicloom.db.migrate import upgrade
    from civicloom.settings import Settings

    url = url or f"sqlite+aiosqlite:///{var / 'bench.db'}"
    upgrade(Settings().migrations_dir, url)
    return url


def _civicloom_app(var: Path, url: str) -> Any:
    from civicloom.app import create_app
    from civicloom.bootstrap import build_container
    from civicloom.settings import Profile, Settings

    settings = Settings(profile=Profile.TEST, database_url=url, var_dir=var)
    return create_app(build_container(settings))


def in_process(url: str | None, rounds: int, count: int) -> dict[str, float]:
    """Median microseconds per request for each path over ``rounds`` alternating rounds."""
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - the apps' log lines
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        db = _database(var, url)

        async def run() -> dict[str, float]:
            app = _civicloom_app(var, db)
            apps = {"/hello": hello_app, "/healthz": app, "/readyz": app}
            for path, target in apps.items():
                await _drive(target, path, 50)  # warm up
            samples: dict[str, list[float]] = {p: [] for p in apps}
            for _ in range(rounds):
                for path, target in apps.items():
                    samples[path].append(await _drive(target, path, count))
            return {p: statistics.median(s) for p, s in samples.items()}

        return asyncio.run(run())


def profile(path: str, url: str | None, count: int) -> None:
    """cProfile of ``count`` requests to ``path``, the 40 costliest calls by cumulative time."""
    out = sys.stdout
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        db = _database(var, url)

        async def run() -> None:
            app = hello_app if path == "/hello" else _civicloom_app(var, db)
            await _drive(app, path, 50)
            profiler = cProfile.Profile()
            profiler.enable()
            await _drive(app, path, count)
            profiler.disable()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)

        asyncio.run(run())


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


def _wrk(port: int, path: str, seconds: int) -> tuple[float, float]:
    """Requests per second and p99 (ms) of one wrk run (1 thread, 32 connections)."""
    out = subprocess.run(
        ["wrk", "-t1", "-c32", f"-d{seconds}s", "--latency", f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99 is not None
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    if "Non-2xx" in out:
        raise SystemExit(f"{path}: wrk saw non-2xx answers:\n{out}")
    return rate, float(p99.group(1)) * scale


def over_http(src: Path, url: str | None, rounds: int, seconds: int) -> dict[str, Any]:
    """Median req/s and p99 per path, one uvicorn process per app, rounds alternating."""
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        db = _database(var, url)
        env = {
            **os.environ,
            "PYTHONPATH": f"{src}{os.pathsep}{ROOT}",
            "CIVICLOOM_PROFILE": "test",
            "CIVICLOOM_DATABASE_URL": db,
            "CIVICLOOM_VAR_DIR": str(var),
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
                    samples[path].append(_wrk(port, path, seconds))
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


def main() -> int:
    """Measure, print a table and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the civicloom src tree")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000, help="per in-process round")
    parser.add_argument("--seconds", type=int, default=5, help="per wrk round")
    parser.add_argument("--profile", metavar="PATH", help="cProfile one path and stop")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.src.resolve() != (ROOT / "src").resolve() and not os.environ.get("BENCH_TREE"):
        # Measure another tree: rerun this script with that tree first on the path.
        env = {**os.environ, "PYTHONPATH": f"{args.src}{os.pathsep}{ROOT}", "BENCH_TREE": "1"}
        return subprocess.call([sys.executable, "-c", _RERUN, *sys.argv[1:]], env=env, cwd=ROOT)
    if args.profile:
        profile(args.profile, args.database_url, args.requests)
        return 0
    results: dict[str, Any] = {
        "in_process_us": in_process(args.database_url, args.rounds, args.requests)
    }
    if shutil.which("wrk"):
        results["http"] = over_http(args.src, args.database_url, args.rounds, args.seconds)
    cpu = results["in_process_us"]
    print(f"tree: {args.src}")
    print("in process (µs per request, median of rounds; ratio = hello / path):")
    for path in PATHS:
        print(f"  {path:9} {cpu[path]:8.1f} µs   ratio {cpu['/hello'] / cpu[path]:.3f}")
    if "http" in results:
        http = results["http"]
        print("over HTTP, one uvicorn process each, wrk -t1 -c32 (median of rounds):")
        for path in PATHS:
            rate, p99 = http[path]["req_per_s"], http[path]["p99_ms"]
            ratio = rate / http["/hello"]["req_per_s"]
            print(f"  {path:9} {rate:8.0f} req/s  p99 {p99:6.1f} ms  ratio {ratio:.3f}")
    else:
        print("over HTTP: skipped (wrk is not installed: apt-get install wrk)")
    if args.json:
        print(json.dumps(results))
    return 0


_RERUN = (
    "import sys; sys.argv[0] = 'bench_request_path'; "
    "from benchmarks.bench_request_path import main; raise SystemExit(main())"
)

if __name__ == "__main__":
    raise SystemExit(main())
