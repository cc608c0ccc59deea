"""Several hosts (issue 23, ADR 0060): a load balancer in front of two API hosts, two worker
hosts, a PostgreSQL primary with a synchronous replica, the department simulators on a host of
their own; production profile. Hosts are killed with kill -9 of everything in their network
namespace (the machine lost power).

Exactly-once accounting as in the durability suite: each department simulator's ledger holds
each of an application's effects once, applied once, for the idempotency keys of its tasks.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from tests.cluster.conftest import Running
from tests.durability.test_kill_workers import EFFECTS

FORM = {
    "registration_number": "BR-2019-004211",
    "parcel_id": "P-0042-117",
    "seating": 24,
    "staff_count": 4,
    "business_name": "Golden Dragon Kitchen Ltd",
}


def _submit(client: httpx.Client, running: Running) -> httpx.Response:
    return client.post(
        f"{running.cluster.lb_url}/api/v1/applications",
        json={"service": "durability-check", "data": FORM},
        headers=running.headers,
        timeout=30,
    )


def _sql(running: Running, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(running.cluster.libpq_url(), connect_timeout=5) as conn:
        return conn.execute(query, params).fetchall()


def _states(running: Running, ids: list[str]) -> Counter[str]:
    rows = _sql(running, "SELECT state FROM applications WHERE id = ANY(%s)", ids)
    return Counter(str(state) for (state,) in rows)


def _wait_approved(running: Running, ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    states: Counter[str] = Counter()
    while time.monotonic() < deadline:
        states = _states(running, ids)
        if states["approved"] == len(ids):
            return
        time.sleep(0.5)
    cluster = running.cluster
    logs = "\n".join(cluster.log(h) for h in ("worker1", "worker2", "api1", "api2"))
    raise AssertionError(f"{len(ids)} applications, states {dict(states)}\n{logs}")


def _assert_exactly_once(running: Running, ids: list[str]) -> None:
    keys = {
        str(key)
        for (key,) in _sql(
            running,
            "SELECT idempotency_key FROM application_tasks WHERE application_id = ANY(%s)",
            ids,
        )
    }
    for sim, capability in EFFECTS.items():
        ledger = httpx.get(f"{running.cluster.sim_url(sim)}/_sim/ledger", timeout=10).json()
        mine = [e for e in ledger["entries"] if e["capability"] == capability and e["key"] in keys]
        assert (sim, len(mine)) == (sim, len(ids))
        assert (sim, {e["applied"] for e in mine}) == (sim, {1})


def _leases_held(running: Running, ids: list[str]) -> tuple[str, list[str]]:
    """A worker host holding leases on these applications' steps, and those steps (waits up
    to 60 s for one)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = _sql(
            running,
            "SELECT lease_owner, id FROM application_tasks WHERE state = 'running'"
            " AND application_id = ANY(%s) ORDER BY lease_owner",
            ids,
        )
        if rows:
            host = str(rows[0][0])
            return host, [str(task) for owner, task in rows if owner == host]
        time.sleep(0.1)
    logs = running.cluster.log("worker1") + running.cluster.log("worker2")
    raise AssertionError(f"no worker host held a lease within 60 s\n{logs}")


def test_both_api_hosts_answer_and_the_workers_process_what_was_submitted(
    running: Running,
) -> None:
    with httpx.Client() as client:
        served = Counter(
            client.get(f"{running.cluster.lb_url}/readyz", timeout=10).headers["x-served-by"]
            for _ in range(10)
        )
        assert served == Counter({"api1": 5, "api2": 5})  # round robin

        # Production profile: the demo personas' login does not exist.
        login = client.get(f"{running.cluster.lb_url}/dev-login", timeout=10)
        assert login.status_code == 404

        answer = _submit(client, running)
        assert answer.status_code == 201, answer.text
        application = answer.json()
        assert application["state"] == "in_progress"
    _wait_approved(running, [application["id"]], timeout=60)
    _assert_exactly_once(running, [application["id"]])


class Load:
    """Threads submitting applications through the load balancer and reading their status
    back, recording every answer."""

    def __init__(self, running: Running, threads: int = 4) -> None:
        self.running = running
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.submitted: list[str] = []  # answered 201
        self.answers: list[tuple[float, str, int, str]] = []  # time, what, status, served by
        self.threads = [threading.Thread(target=self._loop) for _ in range(threads)]

    def _note(self, what: str, status: int, served_by: str) -> None:
        with self.lock:
            self.answers.append((time.monotonic(), what, status, served_by))

    def _call(self, what: str, call: Callable[[], httpx.Response]) -> httpx.Response | None:
        try:
            response = call()
        except httpx.HTTPError:
            self._note(what, 0, "")
            return None
        self._note(what, response.status_code, response.headers.get("x-served-by", ""))
        return response

    def _loop(self) -> None:
        lb = self.running.cluster.lb_url
        with httpx.Client() as client:
            while not self.stop.is_set():
                answer = self._call("submit", lambda: _submit(client, self.running))
                if answer is None or answer.status_code != 201:
                    continue
                id_ = answer.json()["id"]
                with self.lock:
                    self.submitted.append(id_)
                status = functools.partial(
                    client.get,
                    f"{lb}/api/v1/applications/{id_}/status",
                    headers=self.running.headers,
                    timeout=30,
                )
                self._call("status", status)

    def wait(self, enough: Callable[[list[tuple[float, str, int, str]]], bool]) -> None:
        """Until the answers so far are ``enough`` (at most 60 s)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with self.lock:
                answers = list(self.answers)
            if enough(answers):
                return
            time.sleep(0.1)
        raise AssertionError(f"load did not get there within 60 s: {answers}")

    def assert_api2_took_over(
        self, answers: list[tuple[float, str, int, str]], submitted_at_least: int
    ) -> None:
        """``answers`` (those after the load balancer noticed api1 was gone or cut off) were
        all answered well by api2; no answer at any time was a server error of ours (a request
        caught on api1 may have failed: the caller's to retry); nothing answered 201 is lost:
        each exists and goes through every department once."""
        assert answers, self.answers
        assert {(status, served) for _, _, status, served in answers} <= {
            (201, "api2"),
            (200, "api2"),
        }
        assert not [a for a in self.answers if 500 <= a[2] < 502 or a[2] > 504]
        assert len(self.submitted) >= submitted_at_least
        _wait_approved(self.running, self.submitted, timeout=120)
        _assert_exactly_once(self.running, self.submitted)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


@pytest.mark.timeout(240)
def test_an_api_host_killed_mid_load_loses_no_answered_request(running: Running) -> None:
    cluster = running.cluster
    try:
        with Load(running) as load:
            # Load runs on both hosts before one dies.
            load.wait(lambda answers: {a[3] for a in answers} >= {"api1", "api2"})
            killed_at = time.monotonic()
            assert cluster.kill_host("api1") > 0
            # Traffic goes on through api2; the health check has noticed within 2 s.
            load.wait(lambda answers: len([a for a in answers if a[0] > killed_at + 2]) >= 8)
        after = [a for a in load.answers if a[0] > killed_at + 2]
        before = [a for a in load.answers if a[0] <= killed_at]
        assert {served for *_, served in before} == {"api1", "api2"}
        # Every request answered after the load balancer noticed was answered by api2, and
        # answered well; during the two seconds in between a request may have failed (the
        # caller's to retry), never with a server error of ours.
        load.assert_api2_took_over(after, submitted_at_least=4)
    finally:
        cluster.start_api("api1")


@pytest.mark.timeout(240)
def test_a_worker_host_killed_with_calls_in_flight_moves_its_leases(running: Running) -> None:
    cluster = running.cluster
    tax = cluster.sim_url("tax")
    # The tax office answers slowly: worker hosts hold leases on calls in flight.
    httpx.put(f"{tax}/_sim/faults", json={"answer_delay_ms": 1500}, timeout=5).raise_for_status()
    try:
        with httpx.Client() as client:
            ids = []
            for _ in range(8):
                answer = _submit(client, running)
                assert answer.status_code == 201, answer.text
                ids.append(answer.json()["id"])
        victim, held = _leases_held(running, ids)
        assert cluster.kill_host(victim) > 0
        httpx.put(f"{tax}/_sim/faults", json={}, timeout=5).raise_for_status()
        _wait_approved(running, ids, timeout=120)
        # The other worker host took over the dead one's leases and finished those steps.
        finished = _sql(
            running,
            "SELECT state, count(*) FROM application_tasks WHERE id = ANY(%s) GROUP BY state",
            held,
        )
        assert finished == [("completed", len(held))]
        _assert_exactly_once(running, ids)
    finally:
        httpx.put(f"{tax}/_sim/faults", json={}, timeout=5)
        for host in ("worker1", "worker2"):
            if not cluster.procs.get(host):
                cluster.start_worker(host)


@pytest.mark.timeout(240)
def test_the_replica_promoted_after_the_primary_dies_has_every_committed_application(
    running: Running,
) -> None:
    cluster = running.cluster
    with httpx.Client() as client:
        before = []
        for _ in range(3):
            answer = _submit(client, running)
            assert answer.status_code == 201, answer.text
            before.append(answer.json()["id"])
        assert cluster.kill_host("pg1") > 0  # the primary's machine is gone
        cluster.pg_ctl("pg2", "promote", "-w", "-t", "60")
        # No restart anywhere: the API and worker hosts reconnect to whichever host is
        # writable (target_session_attrs=read-write). Requests may fail until they do.
        deadline = time.monotonic() + 60
        answer = _submit(client, running)
        while answer.status_code != 201 and time.monotonic() < deadline:
            time.sleep(0.5)
            answer = _submit(client, running)
        assert answer.status_code == 201, answer.text
    # Synchronous commit: every application answered 201 by the old primary is on the new one.
    assert sum(_states(running, before).values()) == 3
    after = answer.json()["id"]
    _wait_approved(running, [*before, after], timeout=120)
    _assert_exactly_once(running, [*before, after])
    assert cluster.psql("pg2", "SELECT pg_is_in_recovery()").strip() == "f"


@pytest.mark.timeout(240)
def test_a_worker_host_cut_off_mid_call_comes_back_without_applying_anything_twice(
    running: Running,
) -> None:
    cluster = running.cluster
    tax = cluster.sim_url("tax")
    httpx.put(f"{tax}/_sim/faults", json={"answer_delay_ms": 1500}, timeout=5).raise_for_status()
    cut: str | None = None
    try:
        with httpx.Client() as client:
            ids = []
            for _ in range(8):
                answer = _submit(client, running)
                assert answer.status_code == 201, answer.text
                ids.append(answer.json()["id"])
        cut, held = _leases_held(running, ids)
        cluster.set_link(cut, up=False)  # mid-call: the answer cannot reach it
        httpx.put(f"{tax}/_sim/faults", json={}, timeout=5).raise_for_status()
        # The other worker takes over once the leases run out and finishes everything.
        _wait_approved(running, ids, timeout=120)
        seen = _sql(running, "SELECT seen_at FROM worker_heartbeats WHERE worker_id = %s", cut)
        cluster.set_link(cut, up=True)
        back, cut = cut, None
        # The cut-off host is back (a newer heartbeat) with what it believed it still held ...
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not _sql(
            running,
            "SELECT seen_at FROM worker_heartbeats WHERE worker_id = %s AND seen_at > %s",
            back,
            seen[0][0],
        ):
            time.sleep(0.2)
        assert time.monotonic() < deadline, cluster.log(back)
        # ... and nothing was applied twice nor finished twice.
        finished = _sql(
            running,
            "SELECT state, count(*) FROM application_tasks WHERE id = ANY(%s) GROUP BY state",
            held,
        )
        assert finished == [("completed", len(held))]
        assert _states(running, ids) == Counter({"approved": 8})
        _assert_exactly_once(running, ids)
    finally:
        httpx.put(f"{tax}/_sim/faults", json={}, timeout=5)
        if cut is not None:
            cluster.set_link(cut, up=True)


def test_nobody_without_the_generated_secrets_gets_into_the_database(running: Running) -> None:
    cluster = running.cluster
    hosts = ",".join(f"{cluster.ip(h)}:5432" for h in ("pg1", "pg2"))
    forged = f"postgresql://civicloom:guessed-password@{hosts}/civicloom"
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(forged, connect_timeout=5)
    # The replication role may stream WAL, not read the applications.
    password = cluster.secret["replication_password"]
    replicator = f"postgresql://replicator:{password}@{hosts}/civicloom"
    with pytest.raises(psycopg.OperationalError, match=r"no pg_hba\.conf entry"):
        psycopg.connect(replicator, connect_timeout=5)
    assert (cluster.root / "secrets.env").stat().st_mode & 0o777 == 0o600
