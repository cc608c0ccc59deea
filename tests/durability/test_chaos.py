"""Chaos: every connector kind at once while workers die, servers restart and messages are
dropped or repeated (issue 18, ADR 0045).

Each application calls five departments, one per connector kind — REST (tax clearance), SOAP
(activity registration), AMQP (employer registration), file exchange (zoning check by signed
batch file) and signed callback (environmental screening). While 120 applications run, the test
kill -9s workers at seeded random moments, restarts its own PostgreSQL and its own RabbitMQ
once each, makes three departments slower than the worker lease for a while, has the callback
contractor drop and repeat callbacks and the batch system repeat and split response files.

At the end every application is approved, every simulator's ledger holds each effect exactly
once (applied 1), no answer is lost (no step is still waiting, no response file is left
unacknowledged), no dead letter exists and the broker's dead-letter queue is empty.

The seed is printed; ``CIVICLOOM_CHAOS_SEED=<n>`` replays a run's schedule and seeds the
simulators' own fault RNGs (dropped AMQP replies, dropped and doubled callbacks, repeated and
split batch files), so one number replays both.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import psycopg
import pytest
import yaml

from tests.durability.conftest import Servers
from tests.durability.test_kill_workers import ALICE
from tests.simulators.harness import REPO_ROOT
from tests.system.platform import Platform, _libpq, start_platform

APPLICATIONS = 120
WORKERS = 3
LEASE_SECONDS = 3.0
SLOWER_THAN_LEASE_MS = 4500  # the department answers after the lease would have run out
MAX_KILLS = 8
# Dropped and repeated messages for the whole run (``set_faults`` replaces a simulator's set).
BASELINE_FAULTS: dict[str, dict[str, Any]] = {
    "environment": {
        "callback_delay_ms": 200,
        "duplicate_callback_rate": 0.3,
        "drop_callback_rate": 0.15,
    },
    "local_admin": {"duplicate_rate": 0.3, "partial_rate": 0.2},
    "labour": {"drop_reply_rate": 0.1},
}
RETRY = {"max_attempts": 60, "initial_seconds": 0.2, "max_seconds": 2}


@dataclass(frozen=True)
class Kind:
    """One connector kind: the step that uses it and the ledger that witnesses it."""

    step: str
    sim: str
    effect: str  # the capability name in the simulator's ledger


KINDS = {
    "REST": Kind("clearance", "tax", "tax.clearance_check"),
    "SOAP": Kind("registration", "local_admin", "local_admin.register_activity"),
    "AMQP": Kind("employer", "labour", "labour.register_employer"),
    "file exchange": Kind("zoning", "local_admin", "local_admin.check_zoning"),
    "signed callback": Kind("screening", "environment", "environment.screening"),
}


def chaos_blueprint() -> dict[str, Any]:
    """Five departments in parallel, one per connector kind."""
    data = "$.data."
    wait = {"timeout_seconds": 6}  # a dropped callback / late batch file is chased after 6 s

    def step(id_: str, department: str, capability: str, inputs: dict[str, Any]) -> Any:
        return {
            "id": id_,
            "kind": "automated",
            "department": department,
            "capability": capability,
            "input": inputs,
            "retry": RETRY,
        }

    return {
        "id": "chaos-check",
        "version": 1,
        "owner": "local-admin",
        "reference_prefix": "CHA",
        "title": {"en": "Chaos check", "zh-Hans": "混沌检查"},
        "form": {
            "schema": {
                "type": "object",
                "properties": {
                    "registration_number": {"type": "string"},
                    "parcel_id": {"type": "string"},
                    "seating": {"type": "integer"},
                    "business_name": {"type": "string"},
                },
            }
        },
        "steps": [
            step(
                "clearance",
                "tax",
                "tax.clearance_check",
                {"registration_number": f"{data}registration_number"},
            ),
            step(
                "registration",
                "local-admin",
                "local-admin.register_activity",
                {
                    "registration_number": f"{data}registration_number",
                    "parcel_id": f"{data}parcel_id",
                    "activity": "restaurant",
                },
            ),
            step(
                "employer",
                "labour",
                "labour.register_employer",
                {
                    "registration_number": f"{data}registration_number",
                    "employer_name": f"{data}business_name",
                    "staff_count": 4,
                },
            ),
            {
                **step(
                    "zoning",
                    "local-admin",
                    "local-admin.zoning_batch",
                    {"parcel_id": f"{data}parcel_id", "activity": "restaurant"},
                ),
                "external_wait": wait,
            },
            {
                **step(
                    "screening",
                    "environment",
                    "environment.screening",
                    {
                        "registration_number": f"{data}registration_number",
                        "parcel_id": f"{data}parcel_id",
                        "seating": f"{data}seating",
                        "grease_trap": True,
                        "activity": "restaurant",
                    },
                ),
                "external_wait": wait,
            },
        ],
    }


def chaos_blueprints(target: Path) -> Path:
    """The demo blueprints, plus a zoning check the local administration answers by batch
    file (the demo serves every capability by SOAP) and the chaos service."""
    shutil.copytree(REPO_ROOT / "blueprints", target)
    path = target / "departments" / "local-admin.yaml"
    department = yaml.safe_load(path.read_text(encoding="utf-8"))
    zoning = next(c for c in department["capabilities"] if c["id"] == "local-admin.zoning_check")
    department["capabilities"].append(
        {
            **{k: v for k, v in zoning.items() if k != "soap"},
            "id": "local-admin.zoning_batch",
            "description": "Zoning check by the nightly batch exchange (chaos suite).",
            "connector": "batch",
        }
    )
    path.write_text(yaml.safe_dump(department, allow_unicode=True), encoding="utf-8")
    return target


@pytest.fixture
def chaos_seed() -> int:
    """The run's seed: ``CIVICLOOM_CHAOS_SEED`` to replay one, a fresh one otherwise. It drives
    the schedule of kills and restarts and seeds the simulators' own fault RNGs."""
    return int(os.environ.get("CIVICLOOM_CHAOS_SEED") or random.SystemRandom().randrange(10**6))


@pytest.fixture
def chaos_platform(
    tmp_path: Path, servers: Servers, monkeypatch: pytest.MonkeyPatch, chaos_seed: int
) -> Iterator[Platform]:
    """The platform on the private servers, with the chaos blueprints and a short lease; the
    simulators' fault RNGs are seeded with the chaos seed."""
    blueprints = chaos_blueprints(tmp_path / "blueprints")
    monkeypatch.setenv("SIM_LOCAL_ADMIN_BATCH_INTERVAL", "0.3")
    yield from start_platform(
        tmp_path / "run",
        admin_url=servers.postgres.admin_url,
        amqp_url=servers.rabbit.url,
        sim_seed=chaos_seed,
        CIVICLOOM_BLUEPRINTS_DIR=str(blueprints),
        CIVICLOOM_WORKER_LEASE_SECONDS=str(LEASE_SECONDS),
        CIVICLOOM_WORKER_POLL_SECONDS="0.2",
        CIVICLOOM_LOG_LEVEL="WARNING",
    )


def _sql(platform: Platform, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(_libpq(platform.database_url), connect_timeout=5) as conn:
        return list(conn.execute(query, params).fetchall())


def _submit_all(platform: Platform, n: int) -> list[str]:
    """Publish the chaos service and submit ``n`` applications through the API's code path."""
    from civicloom.applications import SubmitApplication, submit_application
    from civicloom.bootstrap import build_container
    from civicloom.catalogue import Blueprint, publish_blueprint
    from civicloom.settings import Profile, Settings

    async def run() -> list[str]:
        container = build_container(
            Settings(
                profile=Profile.TEST,
                database_url=platform.database_url,
                blueprints_dir=Path(platform.env["CIVICLOOM_BLUEPRINTS_DIR"]),
                log_level="WARNING",
            )
        )
        async with container.uow() as uow:
            await publish_blueprint(
                uow.session,
                Blueprint.model_validate(chaos_blueprint()),
                container.clock.now(),
                actor="test:setup",
            )
            await uow.commit()
        ids = []
        for i in range(n):
            view, _ = await submit_application(
                container.uow(),
                container.clock,
                ALICE,
                SubmitApplication(
                    service_id="chaos-check",
                    data={
                        "registration_number": "BR-2019-004211",
                        "parcel_id": "P-0042-117",
                        "seating": 20 + i % 20,
                        "business_name": "Golden Dragon Kitchen Ltd",
                    },
                ),
            )
            ids.append(view.id)
        await container.database.dispose()
        return ids

    return asyncio.run(run())


@dataclass
class Chaos:
    """The fault schedule, driven from the test's polling loop (never a fixed sleep)."""

    platform: Platform
    servers: Servers
    rng: random.Random
    started: float = field(default_factory=time.monotonic)
    kills: int = 0
    postgres_restarts: int = 0
    rabbit_restarts: int = 0
    slow_windows: int = 0
    log: list[str] = field(default_factory=list)
    _next_kill: float = 0.0
    _plan: dict[str, float] = field(default_factory=dict)
    _slow_until: float | None = None
    _busy: dict[int, int] = field(default_factory=dict)

    def begin(self) -> None:
        """Start the schedule (once the workers have claimed their first calls)."""
        self.started = time.monotonic()
        self._next_kill = self.started + self.rng.uniform(0.5, 2.0)
        self._plan = {
            "postgres": self.started + self.rng.uniform(3.0, 7.0),
            "rabbit": self.started + self.rng.uniform(8.0, 12.0),
        }
        self._slow_until = self.started + 8.0

    def _note(self, what: str) -> None:
        self.log.append(f"{time.monotonic() - self.started:6.1f}s {what}")

    def baseline_faults(self) -> None:
        """Drops and repeats for the whole run; slow answers from the first call on (REST and
        SOAP calls are quick to finish)."""
        for sim, faults in BASELINE_FAULTS.items():
            self.platform.sims[sim].set_faults(**faults)
        self._slow(True)
        self.slow_windows += 1
        self._note(f"tax, SOAP and AMQP answer after {SLOWER_THAN_LEASE_MS} ms")

    def _slow(self, on: bool) -> None:
        # The effect is applied at once; the answer leaves after the lease would have run out.
        delay = SLOWER_THAN_LEASE_MS if on else 0
        for sim in ("tax", "labour", "local_admin"):
            self.platform.sims[sim].set_faults(
                **BASELINE_FAULTS.get(sim, {}), answer_delay_ms=delay
            )

    def _victim(self) -> subprocess.Popen[bytes] | None:
        """A worker with calls in flight, drawn at random (any worker once none is busy for a
        while: the last steps may all be waiting for late answers)."""
        try:
            rows = _sql(
                self.platform,
                "SELECT lease_owner, count(*) FROM application_tasks"
                " WHERE state = 'running' GROUP BY lease_owner",
            )
        except psycopg.OperationalError:
            rows = []
        self._busy = {int(str(owner).rsplit(":", 1)[1]): int(n) for owner, n in rows if owner}
        workers = self.platform.workers
        busy = [w for w in workers if self._busy.get(w.pid)]
        if busy:
            return busy[self.rng.randrange(len(busy))]
        if time.monotonic() < self._next_kill + 2.0:
            return None  # look again at the next tick
        return workers[self.rng.randrange(len(workers))]

    def tick(self) -> None:
        """Do whatever is due now."""
        now = time.monotonic()
        if self.kills < MAX_KILLS and now >= self._next_kill:
            victim = self._victim()
            if victim is not None:
                self.platform.workers.remove(victim)
                self.platform.kill_worker(victim)
                self.platform.start_worker()
                self.kills += 1
                self._note(
                    f"kill -9 worker pid {victim.pid} ({self._busy.get(victim.pid, 0)}"
                    " calls in flight)"
                )
                self._next_kill = now + self.rng.uniform(1.5, 4.0)
        if self._slow_until is not None and now >= self._slow_until:
            self._slow_until = None
            self._slow(False)
            self._note("departments fast again")
        if "postgres" in self._plan and now >= self._plan["postgres"]:
            del self._plan["postgres"]
            self._note("restarting PostgreSQL")
            self.servers.postgres.restart()
            self.postgres_restarts += 1
            self._note("PostgreSQL is back")
        if "rabbit" in self._plan and now >= self._plan["rabbit"]:
            del self._plan["rabbit"]
            self._note("restarting RabbitMQ")
            self.servers.rabbit.stop()
            self._note("RabbitMQ stopped")
            self.servers.rabbit.start()
            self.rabbit_restarts += 1
            self._note("RabbitMQ is back")

    @property
    def done(self) -> bool:
        """Every planned fault has happened."""
        return not self._plan and self._slow_until is None and self.kills >= 3


def _step_keys(platform: Platform, ids: list[str], step: str) -> set[str]:
    return {
        str(key)
        for (key,) in _sql(
            platform,
            "SELECT idempotency_key FROM application_tasks"
            " WHERE application_id = ANY(%s) AND step_id = %s",
            ids,
            step,
        )
    }


def _states(platform: Platform, ids: list[str]) -> Counter[str]:
    try:
        rows = _sql(
            platform,
            "SELECT state, count(*) FROM applications WHERE id = ANY(%s) GROUP BY state",
            ids,
        )
    except psycopg.OperationalError:  # our own PostgreSQL is restarting
        return Counter()
    return Counter({str(state): int(n) for state, n in rows})


def _wait(
    what: str, predicate: Callable[[], bool], timeout: float, tick: Callable[[], None]
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout} s")
        tick()
        time.sleep(0.3)


async def _dead_letters(url: str, queue: str) -> list[tuple[str, str]]:
    """(reason, idempotency key) of every message in a broker dead-letter queue."""
    found: list[tuple[str, str]] = []
    connection = await aio_pika.connect(url, timeout=10)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        while (message := await declared.get(fail=False, no_ack=True)) is not None:
            deaths: Any = message.headers.get("x-death") or [{}]
            found.append(
                (str(deaths[0].get("reason")), str(message.headers.get("idempotency-key")))
            )
    return found


@pytest.mark.timeout(420)
def test_every_connector_kind_survives_chaos(
    chaos_platform: Platform,
    servers: Servers,
    capsys: pytest.CaptureFixture[str],
    chaos_seed: int,
) -> None:
    platform = chaos_platform
    seed = chaos_seed
    with capsys.disabled():
        print(f"\nchaos seed {seed} (CIVICLOOM_CHAOS_SEED={seed} replays the schedule)")
    began = time.monotonic()
    ids = _submit_all(platform, APPLICATIONS)
    chaos = Chaos(platform, servers, random.Random(seed))
    chaos.baseline_faults()
    for _ in range(WORKERS):
        platform.start_worker()

    def calls_in_flight() -> bool:
        [(running,)] = _sql(
            platform, "SELECT count(*) FROM application_tasks WHERE state = 'running'"
        )
        return int(running) > 0

    _wait("the workers' first calls", calls_in_flight, 60, lambda: None)
    chaos.begin()
    counts: Counter[str] = Counter()

    def all_approved() -> bool:
        nonlocal counts
        counts = _states(platform, ids)
        return chaos.done and counts.get("approved", 0) == APPLICATIONS

    try:
        _wait("every application approved", all_approved, 300, chaos.tick)
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}: {dict(counts)} (seed {seed})\n" + "\n".join(chaos.log) + platform.logs()
        ) from None

    def outbox_drained() -> bool:
        [(pending,)] = _sql(
            platform, "SELECT count(*) FROM outbox_messages WHERE dispatched_at IS NULL"
        )
        return int(pending) == 0

    _wait("every outbox message relayed", outbox_drained, 120, chaos.tick)
    elapsed = time.monotonic() - began

    # Exactly once, per connector kind, by the departments' own ledgers.
    repeats: dict[str, int] = {}
    for kind, spec in KINDS.items():
        step_keys = _step_keys(platform, ids, spec.step)
        assert len(step_keys) == APPLICATIONS, (kind, len(step_keys))
        entries = [e for e in platform.ledger(spec.sim) if e["key"] in step_keys]
        assert {e["capability"] for e in entries} == {spec.effect}, kind
        assert len(entries) == APPLICATIONS, (kind, len(entries))
        assert {e["applied"] for e in entries} == {1}, kind
        repeats[kind] = sum(int(e["received"]) - 1 for e in entries)

    # No answer lost, no dead letter unexplained.
    assert (
        _sql(
            platform,
            "SELECT step_id, state FROM application_tasks WHERE application_id = ANY(%s)"
            " AND state NOT IN ('completed', 'skipped')",
            ids,
        )
        == []
    )
    assert _sql(platform, "SELECT id, error FROM dead_letters") == []
    assert (
        _sql(platform, "SELECT topic, last_error FROM outbox_messages WHERE dead_at IS NOT NULL")
        == []
    )
    [(relayed,)] = _sql(platform, "SELECT count(*) FROM outbox_messages")
    exchange = Path(platform.env["CIVICLOOM_VAR_DIR"]) / "exchange" / "local-admin"
    assert sorted(p.name for p in (exchange / "outbound").glob("RSP_*.csv")) == []
    # The broker dead-letters a request nobody took within the call's timeout (its expiration):
    # explained when it expired and its call was answered later under the same key.
    dead_queue = platform.env["CIVICLOOM_AMQP_QUEUE_PREFIX"] + "labour.requests.dead"
    expired = asyncio.run(_dead_letters(servers.rabbit.url, dead_queue))
    employer_keys = _step_keys(platform, ids, KINDS["AMQP"].step)
    unexplained = [(r, k) for r, k in expired if r != "expired" or k not in employer_keys]
    assert unexplained == []
    # What the departments repeated: callbacks delivered twice or never, batch files written
    # again or split.
    env = platform.sims["environment"].url
    screening_keys = _step_keys(platform, ids, KINDS["signed callback"].step)
    deliveries = [
        int(httpx.get(f"{env}/api/screenings/{ref}", timeout=10).json()["callback"]["deliveries"])
        for ref in (
            e["response"]["screening_id"]
            for e in platform.ledger("environment")
            if e["key"] in screening_keys
        )
    ]
    consumed = [p.name for p in (exchange / "consumed").glob("RSP_*.csv")]
    extra_files = len([n for n in consumed if "-" in n.removeprefix("RSP_").split("_")[-1]])

    with capsys.disabled():
        print(
            f"chaos: {APPLICATIONS} applications x {len(KINDS)} connector kinds in"
            f" {elapsed:.0f} s; {chaos.kills} kill -9, {chaos.postgres_restarts} PostgreSQL"
            f" and {chaos.rabbit_restarts} RabbitMQ restarts, {chaos.slow_windows} slow window;"
            f" repeats absorbed by the departments: {repeats}; {len(expired)} AMQP requests"
            " expired unanswered into the dead-letter queue (re-sent under their key);"
            f" callbacks dropped {deliveries.count(0)}, delivered twice"
            f" {sum(1 for d in deliveries if d > 1)}; batch response files {len(consumed)}"
            f" ({extra_files} repeated or split); {relayed} outbox messages relayed"
        )
        print("\n".join(chaos.log))
