"""The whole platform as real processes: a fresh PostgreSQL database, the four department
simulators, the API server and any number of workers — for end-to-end and durability tests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from civicloom.db.migrate import upgrade
from civicloom.settings import Settings
from tests.conftest import AMQP_URL, POSTGRES_ADMIN_URL, unavailable
from tests.simulators.harness import REPO_ROOT, SimProcess, free_port, start_sim, wait_for

CALLBACK_SECRET = "system-test-callback-secret"
BATCH_SECRET = "system-test-batch-secret"


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class Platform:
    """Handles on every process of one running platform."""

    workdir: Path
    database_url: str
    env: dict[str, str]
    api_url: str
    sims: dict[str, SimProcess]
    api: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}-{len(self.workers)}-{time.monotonic_ns()}.log").open("wb")
        return subprocess.Popen(
            [sys.executable, "-m", "civicloom", *args],
            cwd=REPO_ROOT,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def start_api(self) -> None:
        """Start ``civicloom serve`` and wait until it is ready."""
        port = self.api_url.rsplit(":", 1)[1]
        self.api = self._spawn("api", "serve", "--port", port)
        wait_for(lambda: _ready(f"{self.api_url}/readyz"), timeout=30, interval=0.1)

    def start_worker(self) -> subprocess.Popen[bytes]:
        """Start one more ``civicloom worker``."""
        worker = self._spawn("worker", "worker")
        self.workers.append(worker)
        return worker

    def kill_worker(self, worker: subprocess.Popen[bytes]) -> None:
        """kill -9 a worker: no chance to release its leases."""
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)

    def logs(self) -> str:
        """Everything the platform's processes printed (for failure messages)."""
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self.workdir.glob("*.log"))
        )

    def ledger(self, sim: str) -> list[dict[str, Any]]:
        """A simulator's record of applied requests."""
        entries: list[dict[str, Any]] = httpx.get(
            f"{self.sims[sim].url}/_sim/ledger", timeout=10
        ).json()["entries"]
        return entries

    def task_keys(self, application_ids: set[str]) -> set[str]:
        """The idempotency keys of these applications' tasks (random per task, ADR 0032): how a
        department's ledger entries are matched to applications."""
        with psycopg.connect(_libpq(self.database_url)) as conn:
            rows = conn.execute(
                "SELECT idempotency_key FROM application_tasks WHERE application_id = ANY(%s)",
                (sorted(application_ids),),
            ).fetchall()
        return {str(key) for (key,) in rows}

    def stop(self) -> None:
        """Stop every process."""
        for proc in [*self.workers, *([self.api] if self.api else [])]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*self.workers, *([self.api] if self.api else [])]:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for sim in self.sims.values():
            sim.stop()


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


async def _amqp_ok(amqp_url: str = AMQP_URL) -> BaseException | None:
    try:
        connection = await aio_pika.connect(amqp_url, timeout=5)
    except Exception as exc:
        return exc
    await connection.close()
    return None


LABOUR_QUEUES = ("labour.requests", "labour.requests.dead")
LABOUR_EXCHANGES = ("labour.dlx", "labour.events")


async def _drop_amqp_topology(prefix: str, amqp_url: str = AMQP_URL) -> None:
    """Remove this run's prefixed queues and exchanges (best effort)."""
    try:
        connection = await aio_pika.connect(amqp_url, timeout=5)
    except Exception:
        return
    async with connection:
        channel = await connection.channel()
        for queue in LABOUR_QUEUES:
            await channel.queue_delete(prefix + queue)
        for exchange in LABOUR_EXCHANGES:
            await channel.exchange_delete(prefix + exchange)


def start_platform(
    workdir: Path,
    api_port: int | None = None,
    *,
    admin_url: str = POSTGRES_ADMIN_URL,
    amqp_url: str = AMQP_URL,
    sim_seed: int = 7,
    **settings_env: str,
) -> Iterator[Platform]:
    """Create a database, start simulators and the API; yield; tear everything down.

    ``api_port``: where the API listens (an identity provider must know its callback first).
    ``admin_url``/``amqp_url`` name the servers (the shared ones by default; the durability
    tests pass their own, ADR 0045); ``sim_seed`` seeds the simulators' fault RNGs (the chaos
    suite passes its seed, so one seed replays the simulators' drops and repeats too).
    """
    problem = asyncio.run(_amqp_ok(amqp_url))
    if problem is not None:
        unavailable("RabbitMQ", problem)
    name = f"civicloom_sys_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(_libpq(admin_url), autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        unavailable("PostgreSQL", exc)
        raise
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    database_url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    amqp_prefix = f"sys-{uuid.uuid4().hex[:8]}."
    var_dir = workdir / "var"
    exchange = var_dir / "exchange" / "local-admin"
    exchange.mkdir(parents=True)
    sims: dict[str, SimProcess] = {}
    platform: Platform | None = None
    sim_args: dict[str, tuple[str, ...]] = {
        "tax": (),
        "local_admin": ("--exchange-dir", str(exchange), "--batch-secret", BATCH_SECRET),
        "environment": ("--callback-secret", CALLBACK_SECRET, "--callback-delay-ms", "200"),
        # Queue names of this run only: concurrent runs on the shared RabbitMQ never answer
        # each other's requests (the platform gets the same prefix through its settings).
        "labour": ("--amqp-url", amqp_url, "--amqp-prefix", amqp_prefix),
    }
    try:
        # The simulators start (each a Python process importing its stack) while the database
        # is migrated: the waits overlap instead of adding up.
        with ThreadPoolExecutor(max_workers=len(sim_args)) as pool:
            starting = {
                kind: pool.submit(start_sim, kind, workdir, *args, seed=sim_seed)
                for kind, args in sim_args.items()
            }
            try:
                upgrade(Settings().migrations_dir, database_url)
            finally:  # every simulator that started is stopped by the finalizer below
                for kind, future in starting.items():
                    if future.exception() is None:
                        sims[kind] = future.result()
            for future in starting.values():
                future.result()  # the first simulator that could not start
        wait_for(lambda: httpx.get(f"{sims['labour'].url}/_sim/amqp").json()["connected"], 15)
        api_url = f"http://127.0.0.1:{api_port or free_port()}"
        env = {
            "CIVICLOOM_PROFILE": "test",
            "CIVICLOOM_DATABASE_URL": database_url,
            "CIVICLOOM_VAR_DIR": str(var_dir),
            "CIVICLOOM_AMQP_URL": amqp_url,
            "CIVICLOOM_AMQP_QUEUE_PREFIX": amqp_prefix,
            "CIVICLOOM_PUBLIC_URL": api_url,
            "CIVICLOOM_LOG_LEVEL": "INFO",
            "CIVICLOOM_CONNECTOR_SECRETS": json.dumps(
                {"environment.callback": CALLBACK_SECRET, "local-admin.batch": BATCH_SECRET}
            ),
            "CIVICLOOM_CONNECTOR_BASE_URLS": json.dumps(
                {
                    "tax": sims["tax"].url,
                    "local-admin": sims["local_admin"].url,
                    "environment": sims["environment"].url,
                    "labour": sims["labour"].url,
                }
            ),
            **settings_env,
        }
        subprocess.run(
            [sys.executable, "-m", "civicloom", "demo", "load"],
            cwd=REPO_ROOT,
            env={**os.environ, **env},
            check=True,
            capture_output=True,
            timeout=120,
        )
        platform = Platform(workdir, database_url, env, api_url, sims)
        platform.start_api()
        yield platform
    finally:
        if platform is not None:
            platform.stop()
        else:
            for sim in sims.values():
                sim.stop()
        with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        asyncio.run(_drop_amqp_topology(amqp_prefix, amqp_url))


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    """A running platform (PostgreSQL, RabbitMQ, four simulators, API; workers on demand)."""
    yield from start_platform(tmp_path)
