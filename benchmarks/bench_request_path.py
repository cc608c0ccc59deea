"""The request path's cost: civicloom's ``/healthz``, ``/readyz`` and a citizen's status read
against a FastAPI hello world, measured in the same run, as ratios (issue 23, ADR 0062, 0077);
and the **floor**: the status read's database work alone, with raw asyncpg behind a FastAPI and
a bare Starlette route (``floor_app``, ``floor_starlette``; see ``FloorPool``).

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
import hashlib
import hmac
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
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import psycopg
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benchmarks.bench_engine import create_database, drop_database
from civicloom.bootstrap import build_container
from civicloom.db.engine import libpq_dsn
from civicloom.db.migrate import upgrade
from civicloom.demo import load_demo, seed_applications
from civicloom.identity import load_personas, principal_for_persona
from civicloom.identity.apikeys import KEY_PATTERN
from civicloom.identity.sessions import start_session
from civicloom.settings import Profile, Settings
from civicloom.web.session import SESSION_COOKIE, session_policy

ROOT = Path(__file__).resolve().parents[1]
STATUS = "/api/v1/applications/seed-000000000000/status"
"""The status read: Alice's application (the first one ``civicloom demo seed`` writes), read
through the citizen status API with her browser session cookie, as a signed-in citizen does."""
FLOOR = "/floor/applications/seed-000000000000/status"
"""The floor's status read of the same application, with the same cookie."""
TARGETS: dict[str, tuple[str, str]] = {
    "/hello": ("hello", "/hello"),
    "/healthz": ("civicloom", "/healthz"),
    "/readyz": ("civicloom", "/readyz"),
    "status": ("civicloom", STATUS),
    "floor": ("floor", FLOOR),
    "floor-starlette": ("floor-starlette", FLOOR),
}
"""What is measured, by label: the app (one uvicorn process each over HTTP) and the path."""

hello_app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})
"""FastAPI with nothing around it: its own telemetry off, as in a process without a tracer
provider (in process, civicloom installs one globally)."""


@hello_app.get("/hello")
async def hello() -> dict[str, str]:
    """The reference endpoint: FastAPI with nothing around it."""
    return {"hello": "world"}


# -- the floor: the status read's database work alone -----------------------------------------
FLOOR_DSN = "BENCH_FLOOR_DSN"
"""The environment variable naming the floor's database (a libpq/asyncpg URL)."""
FLOOR_POOL = int(os.environ.get("BENCH_FLOOR_POOL", "10"))
"""Connections per floor process: civicloom's ``db_pool_size`` default."""
FLOOR_TIMELINE_PAGE = 50
"""Timeline entries a status page shows (civicloom's ``TIMELINE_PAGE``)."""
TOUCH_EVERY = timedelta(seconds=60)
"""civicloom writes a session's (or key's) last use at most once a minute; so does the floor."""

# The statements civicloom sends for a status read (captured from its engine), with the same
# columns, filters, order and limits: the same rows through the same indexes.
_FLOOR_SQL = {
    "session": (
        "SELECT id, subject, display_name, roles, department, mandates, authenticated_by,"
        " id_token, created_at, last_seen_at, expires_at FROM identity_sessions WHERE id = $1"
    ),
    "touch_session": "UPDATE identity_sessions SET last_seen_at = $2 WHERE id = $1",
    "api_client": (
        "SELECT id, prefix, name, department, scopes, secret_hash, created_by, created_at,"
        " expires_at, revoked_at, last_used_at, rotated_from"
        " FROM identity_api_clients WHERE prefix = $1"
    ),
    "touch_api_client": "UPDATE identity_api_clients SET last_used_at = $2 WHERE id = $1",
    "application": (
        "SELECT id, reference, service_id, blueprint_version_id, blueprint_version,"
        " applicant_id, state, data, idempotency_key, request_hash, submitted_at, updated_at,"
        " deadline_at, clock_stopped_at, decided_at, outcome_reason, decisions,"
        " data_purge_due_at FROM applications WHERE id = $1"
    ),
    "tasks": (
        "SELECT id, application_id, step_id, kind, department, role, capability, retry_policy,"
        " state, attempts, due_at, lease_owner, lease_until, idempotency_key, traceparent,"
        " input, output, last_error, assignee, escalated, escalated_to, remind_at,"
        " reminded_at, sla_due_at, activated_at, started_at, completed_at, created_at,"
        " updated_at FROM application_tasks WHERE application_id = $1"
        " ORDER BY created_at, step_id"
    ),
    "timeline": (
        "SELECT id, at, event, step_id, department, message, visible_to_applicant"
        " FROM application_timeline WHERE application_id = $1"
        " AND visible_to_applicant IS true ORDER BY id DESC LIMIT $2"
    ),
    "read": (
        "INSERT INTO audit_read_log (occurred_at, actor, actor_subject, action, subject_type,"
        " subject_id, department, purpose, fields, details)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id"
    ),
}


@dataclass
class _Connection:
    conn: Any  # asyncpg.Connection
    statements: dict[str, Any]  # asyncpg.PreparedStatement by _FLOOR_SQL key


class FloorPool:
    """``FLOOR_POOL`` asyncpg connections opened at startup, every statement prepared on each
    (one parse per connection, then Bind/Execute only); a checkout is a queue get, a release a
    queue put: no reset query, no ping, nothing sent to PostgreSQL but the read's own
    statements, its ``BEGIN`` and its ``COMMIT`` (synchronous_commit as the server has it)."""

    def __init__(self) -> None:
        self.dsn = ""
        self.idle: asyncio.Queue[_Connection] = asyncio.Queue()
        self.opened = 0

    async def _connect(self) -> _Connection:
        conn = await asyncpg.connect(self.dsn)
        for name in ("json", "jsonb"):
            await conn.set_type_codec(
                name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
            )
        statements = {name: await conn.prepare(sql) for name, sql in _FLOOR_SQL.items()}
        return _Connection(conn, statements)

    async def open(self, dsn: str, size: int = FLOOR_POOL) -> None:
        """Connect ``size`` connections to ``dsn`` and prepare the statements on each."""
        self.dsn, self.idle = dsn, asyncio.Queue()
        for connection in await asyncio.gather(*(self._connect() for _ in range(size))):
            self.idle.put_nowait(connection)
        self.opened = size

    async def close(self) -> None:
        """Close every connection (all must have been given back)."""
        while not self.idle.empty():
            await self.idle.get_nowait().conn.close()
        self.opened = 0

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[_Connection]:
        """A connection for one request (waits while all are in use); a broken one is
        replaced."""
        connection = await self.idle.get()
        try:
            if connection.conn.is_closed():
                connection = await self._connect()
            yield connection
        finally:
            self.idle.put_nowait(connection)


floor_pool = FloorPool()
"""The process's floor pool (one per uvicorn worker: each runs the lifespan)."""


@dataclass(frozen=True)
class _Caller:
    actor: str  # audit name: "<authenticated_by>:<subject>"
    subject: str


async def _session_caller(c: _Connection, token: str, now: datetime) -> _Caller | None:
    """resolve_session's work: the row by the token's SHA-256, its lifetime, a last-seen
    write at most once a minute."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    row = await c.statements["session"].fetchrow(digest)
    if row is None or now >= row["expires_at"]:
        return None
    if now - row["last_seen_at"] >= TOUCH_EVERY:
        await c.statements["touch_session"].fetch(digest, now)
    return _Caller(f"{row['authenticated_by']}:{row['subject']}", row["subject"])


async def _key_caller(c: _Connection, key: str, now: datetime) -> _Caller | None:
    """authenticate_api_key's work: the client by prefix, the secret's SHA-256 compared,
    revocation and expiry, a last-used write at most once a minute."""
    match = KEY_PATTERN.match(key)
    if match is None:
        return None
    row = await c.statements["api_client"].fetchrow(match["prefix"])
    secret = hashlib.sha256(match["secret"].encode()).hexdigest()
    if row is None or not hmac.compare_digest(row["secret_hash"], secret):
        return None
    if row["revoked_at"] is not None or row["expires_at"] <= now:
        return None
    if row["last_used_at"] is None or now - row["last_used_at"] >= TOUCH_EVERY:
        await c.statements["touch_api_client"].fetch(row["id"], now)
    return _Caller(f"api-key:client:{row['prefix']}", f"client:{row['prefix']}")


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


async def floor_status(
    application_id: str, cookie: str | None, authorization: str | None
) -> tuple[int, bytes]:
    """The status read's database work in one transaction on a prepared connection, then
    JSON of the same fields civicloom answers with: (HTTP status, body)."""
    now = datetime.now(UTC)
    async with floor_pool.connection() as c, c.conn.transaction():
        caller = None
        if cookie:
            caller = await _session_caller(c, cookie, now)
        elif authorization and authorization.startswith("Bearer "):
            caller = await _key_caller(c, authorization[7:], now)
        if caller is None:
            return 401, b'{"detail":"not authenticated"}'
        app = await c.statements["application"].fetchrow(application_id)
        if app is None or app["applicant_id"] != caller.subject:
            return 404, b'{"detail":"not found"}'
        tasks = await c.statements["tasks"].fetch(application_id)
        page = await c.statements["timeline"].fetch(application_id, FLOOR_TIMELINE_PAGE + 1)
        await c.statements["read"].fetchval(
            now,
            caller.actor,
            caller.subject,
            "application.read",
            "application",
            application_id,
            None,
            "applicant views status",
            sorted(app["data"]),
            {},
        )
    body = {
        "application": {
            "id": app["id"],
            "reference": app["reference"],
            "service": app["service_id"],
            "blueprint_version": app["blueprint_version"],
            "state": app["state"],
            "data": app["data"],
            "submitted_at": _iso(app["submitted_at"]),
            "updated_at": _iso(app["updated_at"]),
        },
        "deadline_at": _iso(app["deadline_at"]),
        "clock_stopped_at": _iso(app["clock_stopped_at"]),
        "outcome_reason": app["outcome_reason"],
        "steps": [
            {
                "step": t["step_id"],
                "kind": t["kind"],
                "department": t["department"],
                "state": t["state"],
                "expected_by": _iso(t["sla_due_at"]),
                "completed_at": _iso(t["completed_at"]),
                "escalated": t["escalated"],
                "escalated_to": t["escalated_to"],
            }
            for t in tasks
        ],
        "timeline": [
            {
                "at": _iso(e["at"]),
                "event": e["event"],
                "step": e["step_id"],
                "department": e["department"],
                "message": e["message"],
            }
            for e in reversed(page[:FLOOR_TIMELINE_PAGE])
        ],
        # the older page's position (civicloom signs it into a cursor: not database work)
        "timeline_next": str(page[FLOOR_TIMELINE_PAGE - 1]["id"])
        if len(page) > FLOOR_TIMELINE_PAGE
        else None,
        "timeline_previous": None,
    }
    return 200, json.dumps(body, separators=(",", ":")).encode()


@asynccontextmanager
async def floor_lifespan(_app: Any) -> AsyncIterator[None]:
    """Open the pool on ``BENCH_FLOOR_DSN`` at startup, close it at shutdown."""
    await floor_pool.open(os.environ[FLOOR_DSN])
    try:
        yield
    finally:
        await floor_pool.close()


async def _floor_ping(_request: Request) -> Response:
    return Response(b'{"ok":true}', media_type="application/json")


floor_app = FastAPI(
    telemetry={"tracing": False, "metrics": False, "logs": False}, lifespan=floor_lifespan
)
"""The floor behind FastAPI: its routing and request object, a ready-made ``Response`` (no
response model, no encoder): the cheapest way FastAPI can serve it."""


@floor_app.get("/floor/applications/{application_id}/status")
async def floor_fastapi(application_id: str, request: Request) -> Response:
    """The floor's status read (FastAPI)."""
    status, body = await floor_status(
        application_id,
        request.cookies.get(SESSION_COOKIE),
        request.headers.get("authorization"),
    )
    return Response(body, status_code=status, media_type="application/json")


floor_app.add_api_route("/floor/ping", _floor_ping, methods=["GET"])


async def _floor_starlette(request: Request) -> Response:
    status, body = await floor_status(
        request.path_params["application_id"],
        request.cookies.get(SESSION_COOKIE),
        request.headers.get("authorization"),
    )
    return Response(body, status_code=status, media_type="application/json")


floor_starlette = Starlette(
    routes=[
        Route("/floor/applications/{application_id}/status", _floor_starlette),
        Route("/floor/ping", _floor_ping),
    ],
    lifespan=floor_lifespan,
)
"""The floor behind bare Starlette routing."""


@dataclass(frozen=True)
class World:
    """The database the civicloom app serves and the status reader's session cookie."""

    url: str
    var: Path
    cookie: str

    def headers(self, path: str) -> list[tuple[bytes, bytes]]:
        """The request headers of ``path``: the status reads carry the session cookie."""
        if path not in (STATUS, FLOOR):
            return []
        return [(b"cookie", f"{SESSION_COOKIE}={self.cookie}".encode())]

    @property
    def dsn(self) -> str:
        """The database as an asyncpg URL (the floor's)."""
        return libpq_dsn(self.url)


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


def _apps(w: World) -> dict[str, Any]:
    return {
        "hello": hello_app,
        "civicloom": _civicloom_app(w),
        "floor": floor_app,
        "floor-starlette": floor_starlette,
    }


def in_process(
    w: World, rounds: int, count: int, labels: tuple[str, ...] = tuple(TARGETS)
) -> dict[str, dict[str, float]]:
    """Median microseconds per request (CPU and wall) for each target over ``rounds``
    alternating rounds."""
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - the apps' log lines

    async def run() -> dict[str, dict[str, float]]:
        apps = _apps(w)
        await floor_pool.open(w.dsn)  # the floor apps' lifespan, which a direct call skips
        try:
            for label in labels:  # warm up
                app, path = TARGETS[label]
                await _drive(apps[app], path, w.headers(path), 50)
            samples: dict[str, list[tuple[float, float]]] = {label: [] for label in labels}
            for _ in range(rounds):
                for label in labels:
                    app, path = TARGETS[label]
                    samples[label].append(await _drive(apps[app], path, w.headers(path), count))
        finally:
            await floor_pool.close()
        return {
            label: {
                "wall_us": statistics.median(wall for wall, _ in s),
                "cpu_us": statistics.median(cpu for _, cpu in s),
            }
            for label, s in samples.items()
        }

    return asyncio.run(run())


def profile(label: str, w: World, count: int) -> None:
    """cProfile of ``count`` requests to ``label`` (a path of civicloom's, or a label of
    ``TARGETS``: ``status``, ``floor``, ...), the costliest calls by own time."""
    name, path = TARGETS.get(label, ("civicloom", label))
    out = sys.stdout
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115

    async def run() -> None:
        app = _apps(w)[name]
        await floor_pool.open(w.dsn, 2)
        await _drive(app, path, w.headers(path), 50)
        # CPU time, not wall time: waiting for PostgreSQL (epoll) would otherwise dominate and
        # SQLAlchemy's greenlet switches smear wall time across unrelated frames.
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        await _drive(app, path, w.headers(path), count)
        profiler.disable()
        await floor_pool.close()
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
    deadline = time.monotonic() + 120  # four servers start at once on a shared machine
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n".encode())
                if b" 200 " in s.recv(100):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server on port {port} did not answer {path} in 120 s")


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


SERVERS = {
    # app: (uvicorn target, is a factory, a path answering 200 once it is up)
    "hello": ("benchmarks.bench_request_path:hello_app", False, "/hello"),
    "civicloom": ("civicloom.bootstrap:uvicorn_app", True, "/readyz"),
    "floor": ("benchmarks.bench_request_path:floor_app", False, "/floor/ping"),
    "floor-starlette": ("benchmarks.bench_request_path:floor_starlette", False, "/floor/ping"),
}


PGBENCH_FLOOR = """BEGIN;
SELECT id, subject, display_name, roles, department, mandates, authenticated_by, id_token,
 created_at, last_seen_at, expires_at FROM identity_sessions WHERE id = :digest;
SELECT id, reference, service_id, blueprint_version_id, blueprint_version, applicant_id, state,
 data, idempotency_key, request_hash, submitted_at, updated_at, deadline_at, clock_stopped_at,
 decided_at, outcome_reason, decisions, data_purge_due_at FROM applications WHERE id = :app;
SELECT id, application_id, step_id, kind, department, role, capability, retry_policy, state,
 attempts, due_at, lease_owner, lease_until, idempotency_key, traceparent, input, output,
 last_error, assignee, escalated, escalated_to, remind_at, reminded_at, sla_due_at,
 activated_at, started_at, completed_at, created_at, updated_at FROM application_tasks
 WHERE application_id = :app ORDER BY created_at, step_id;
SELECT id, at, event, step_id, department, message, visible_to_applicant
 FROM application_timeline WHERE application_id = :app AND visible_to_applicant IS true
 ORDER BY id DESC LIMIT 51;
INSERT INTO audit_read_log (occurred_at, actor, actor_subject, action, subject_type,
 subject_id, department, purpose, fields, details) VALUES (now(), :actor, :subject,
 'application.read', 'application', :app, NULL, 'applicant views status', :fields::jsonb,
 '{}'::jsonb) RETURNING id;
END;
"""
"""The floor's transaction as a pgbench script (``-M prepared``): the same statements, rows and
commit from a C client, i.e. what the database alone can do on this machine."""
PGBENCH_CLIENTS = FLOOR_POOL
"""pgbench clients: as many as a floor process has connections."""


def pgbench_floor(w: World, seconds: int) -> dict[str, float]:
    """TPS and mean latency (ms) of the floor's transaction run by pgbench against the same
    database (no HTTP, no Python)."""
    url = make_url(w.url)
    with psycopg.connect(w.dsn) as conn:
        row = conn.execute(
            "SELECT data FROM applications WHERE id = 'seed-000000000000'"
        ).fetchone()
    assert row is not None
    script = w.var / "floor.sql"
    script.write_text(PGBENCH_FLOOR)
    variables = {
        "digest": hashlib.sha256(w.cookie.encode()).hexdigest(),
        "app": "seed-000000000000",
        "actor": "dev-login:alice",
        "subject": "alice",
        "fields": json.dumps(sorted(row[0])),
    }
    command = ["pgbench", "-n", "-M", "prepared", "-c", str(PGBENCH_CLIENTS), "-j", "1"]
    command += ["-T", str(seconds), "-f", str(script)]
    command += [arg for k, v in variables.items() for arg in ("-D", f"{k}={v}")]
    command += ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432)]
    command += ["-U", url.username or "postgres", url.database or "postgres"]
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    tps = re.search(r"tps = ([\d.]+)", out)
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    if tps is None or latency is None or (failed and int(failed.group(1))):
        raise SystemExit(f"pgbench floor: unexpected output:\n{out}")
    return {"tps": float(tps.group(1)), "latency_ms": float(latency.group(1))}


def over_http(src: Path, w: World, rounds: int, seconds: int) -> dict[str, Any]:
    """Median req/s and p99 per target, one uvicorn process per app, rounds alternating."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{src}{os.pathsep}{ROOT}",
        "CIVICLOOM_PROFILE": "test",
        "CIVICLOOM_DATABASE_URL": w.url,
        "CIVICLOOM_VAR_DIR": str(w.var),
        FLOOR_DSN: w.dsn,
    }
    ports = {app: _free_port() for app in SERVERS}
    servers = [
        _serve(target, ports[app], env, factory) for app, (target, factory, _) in SERVERS.items()
    ]
    try:
        for app, (_, _, ready) in SERVERS.items():
            _wait_for(ports[app], ready)
        samples: dict[str, list[tuple[float, float]]] = {label: [] for label in TARGETS}
        pgbench: list[dict[str, float]] = []
        for _ in range(rounds):
            for label, (app, path) in TARGETS.items():
                samples[label].append(_wrk(ports[app], path, w.headers(path), seconds))
            if shutil.which("pgbench"):
                pgbench.append(pgbench_floor(w, seconds))
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
    results: dict[str, Any] = {
        label: {
            "req_per_s": statistics.median(r for r, _ in s),
            "p99_ms": statistics.median(q for _, q in s),
        }
        for label, s in samples.items()
    }
    if pgbench:
        results["pgbench-floor"] = {
            "tps": statistics.median(p["tps"] for p in pgbench),
            "latency_ms": statistics.median(p["latency_ms"] for p in pgbench),
        }
    return results


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min), {os.cpu_count()} CPUs"


def report(results: dict[str, Any]) -> None:
    """The table: per target, CPU and wall µs in process (ratio hello ÷ target: a rate's
    ratio), req/s and p99 over HTTP (ratio target ÷ hello); then the floor's ratios."""
    cpu = results["in_process_us"]
    print("in process (µs per request, median of rounds; ratio = hello / target):")
    for label, m in cpu.items():
        hello_cpu, hello_wall = cpu["/hello"]["cpu_us"], cpu["/hello"]["wall_us"]
        print(
            f"  {label:15} CPU {m['cpu_us']:8.1f} µs  ratio {hello_cpu / m['cpu_us']:.3f}   "
            f"wall {m['wall_us']:8.1f} µs  ratio {hello_wall / m['wall_us']:.3f}"
        )
    http = results.get("http")
    if http:
        print("over HTTP, one uvicorn process each, wrk -t1 -c32 (median of rounds):")
        for label, m in http.items():
            if label == "pgbench-floor":
                ratio = m["tps"] / http["/hello"]["req_per_s"]
                print(
                    f"  {'pgbench floor':15} {m['tps']:8.0f} TPS    "
                    f"mean {m['latency_ms']:6.1f} ms  "
                    f"ratio {ratio:.3f}  (the floor's transaction from pgbench -M prepared, "
                    f"{PGBENCH_CLIENTS} clients: the database alone)"
                )
                continue
            ratio = m["req_per_s"] / http["/hello"]["req_per_s"]
            print(
                f"  {label:15} {m['req_per_s']:8.0f} req/s  p99 {m['p99_ms']:6.1f} ms  "
                f"ratio {ratio:.3f}"
            )
    else:
        print("over HTTP: skipped (--no-http, or wrk is not installed: apt-get install wrk)")
    if {"status", "floor"} <= cpu.keys():
        print("the floor (the status read's database work alone, raw asyncpg):")
        cpu_rate = {label: 1 / m["cpu_us"] for label, m in cpu.items()}
        rates = {label: m.get("req_per_s", 0.0) for label, m in (http or {}).items()}
        for floor in ("floor", "floor-starlette"):
            if floor in cpu:
                print(f"  {floor}: in process (CPU) {_ratios(cpu_rate, floor)}")
            if floor in rates:
                print(f"  {floor}: over HTTP {_ratios(rates, floor)}")


def _ratios(rate: dict[str, float], floor: str) -> str:
    hello, status = rate["/hello"], rate["status"]
    return (
        f"status/hello {status / hello:.3f}, {floor}/hello {rate[floor] / hello:.3f}, "
        f"status/{floor} {status / rate[floor]:.3f}"
    )


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
    parser.add_argument(
        "--profile", metavar="PATH", help="cProfile one path (or: status, floor), stop"
    )
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
    print(f"after: {_load()}")
    report(results)
    if args.json:
        print(json.dumps(results))
    return 0


_RERUN = (
    "import sys; sys.argv[0] = 'bench_request_path'; "
    "from benchmarks.bench_request_path import main; raise SystemExit(main())"
)

if __name__ == "__main__":
    raise SystemExit(main())
