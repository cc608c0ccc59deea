"""Coming back (issue 23, ADR 0060): the failed primary rejoins as a standby, an API host's cut
link is plugged back, the broker dies and returns, and a backup is restored to a point in time
on a spare host. Same cluster as ``test_hosts.py`` (one per session) and the same exactly-once
accounting: each department's ledger holds each application's effect once, applied once.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import aio_pika
import httpx
import psycopg
import pytest

from scripts.cluster.topology import PG_BIN, PG_PORT, REPO_ROOT, Cluster, wait_for
from tests.cluster.conftest import Running
from tests.cluster.test_hosts import (
    Load,
    _assert_exactly_once,
    _sql,
    _states,
    _submit,
    _wait_approved,
)

BROKER = "amqp://guest:guest@127.0.0.1:5672/"  # the machine's broker, behind the relay


def _submit_n(running: Running, n: int) -> list[str]:
    ids = []
    with httpx.Client() as client:
        for _ in range(n):
            answer = _submit(client, running)
            assert answer.status_code == 201, answer.text
            ids.append(str(answer.json()["id"]))
    return ids


def _on(cluster: Cluster, host: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """A query on one database host, whatever its role (``target_session_attrs=any``)."""
    dsn = (
        f"host={cluster.ip(host)} port={PG_PORT} dbname=civicloom user=civicloom"
        f" password={cluster.secret['db_password']} connect_timeout=5"
    )
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchall()


def _fail_over(cluster: Cluster) -> tuple[str, str]:
    """The primary's host dies and the standby is promoted (unless ``test_hosts`` did it
    already this session); (old primary, new primary)."""
    if not cluster.procs.get("pg1") and cluster.primary() == "pg2":
        return "pg1", "pg2"  # the failover test killed pg1 (kill_host forgot its processes)
    old = cluster.primary()
    new = "pg2" if old == "pg1" else "pg1"
    assert cluster.kill_host(old) > 0
    cluster.pg_ctl(new, "promote", "-w", "-t", "60")
    return old, new


@pytest.mark.timeout(240)
def test_the_old_primary_returns_as_a_standby_and_never_takes_a_write(running: Running) -> None:
    cluster = running.cluster
    before = _submit_n(running, 2)
    old, new = _fail_over(cluster)
    # Written while the old primary is away: only the new primary has these.
    during: list[str] = []
    deadline = time.monotonic() + 60
    with httpx.Client() as client:
        while len(during) < 2:
            answer = _submit(client, running)
            if answer.status_code == 201:
                during.append(str(answer.json()["id"]))
            else:
                assert time.monotonic() < deadline, answer.text
                time.sleep(0.5)

    fenced = cluster.rejoin_as_standby(old, new)

    # The old primary's files are kept aside, never started; the host runs a fresh copy of the
    # new primary, in recovery, streaming synchronously.
    assert (fenced / "PG_VERSION").exists()
    status = subprocess.run(
        ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(fenced), "status"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert status.returncode == 3, status.stdout  # "no server running"
    assert cluster.psql(old, "SELECT pg_is_in_recovery()").strip() == "t"
    assert cluster.psql(new, "SELECT pg_is_in_recovery()").strip() == "f"
    assert cluster.psql(new, "SELECT application_name, sync_state FROM pg_stat_replication") == (
        "replica|sync\n"
    )
    # No split brain: the application's URL names the old primary first, yet its connections
    # land on the new one; a write sent straight to the old one is refused.
    assert _sql(running, "SELECT host(inet_server_addr())") == [(cluster.ip(new),)]
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        _on(cluster, old, "UPDATE applications SET state = state WHERE id = %s", before[0])
    after = _submit_n(running, 2)
    everything = [*before, *during, *after]
    _wait_approved(running, everything, timeout=120)
    _assert_exactly_once(running, everything)
    # Synchronous again: what the new primary acknowledged, the returned host has (read-only).
    on_old = _on(cluster, old, "SELECT id FROM applications WHERE id = ANY(%s)", everything)
    assert sorted(str(i) for (i,) in on_old) == sorted(everything)


@pytest.mark.timeout(240)
def test_an_api_host_cut_off_mid_load_is_routed_around_and_rejoins(running: Running) -> None:
    cluster = running.cluster
    try:
        with Load(running) as load:
            load.wait(lambda answers: {a[3] for a in answers} >= {"api1", "api2"})
            cut_at = time.monotonic()
            cluster.set_link("api1", up=False)  # nothing dies: its connections stall
            # The health checks time out (5 s, twice) and the load balancer stops sending to it.
            load.wait(lambda answers: len([a for a in answers if a[0] > cut_at + 12]) >= 8)
            plugged_at = time.monotonic()
            cluster.set_link("api1", up=True)
            # It passes two health checks and takes requests again.
            load.wait(lambda answers: any(a[0] > plugged_at and a[3] == "api1" for a in answers))
        # (A request stuck on the cut host may end in the client's timeout, status 0, then.)
        while_cut = [a for a in load.answers if cut_at + 12 < a[0] <= plugged_at and a[2]]
        # A request stuck on the cut host may have timed out (the caller's to retry).
        load.assert_api2_took_over(while_cut, submitted_at_least=8)
    finally:
        cluster.set_link("api1", up=True)


async def _watch_events(cluster: Cluster) -> None:
    """A durable queue bound to every event of the cluster: the integrators' view."""
    connection = await aio_pika.connect(BROKER, timeout=5)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            cluster.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(f"{cluster.amqp_prefix}events.watch", durable=True)
        await queue.bind(exchange, routing_key="#")


async def _drain_events(cluster: Cluster) -> list[str]:
    """Every message id in the watching queue (acknowledged: a second drain starts afresh)."""
    ids = []
    connection = await aio_pika.connect(BROKER, timeout=5)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(f"{cluster.amqp_prefix}events.watch")
        while (message := await queue.get(fail=False, timeout=5)) is not None:
            ids.append(str(message.message_id))
            await message.ack()
    return ids


def _outbox(running: Running, ids: list[str]) -> list[tuple[Any, ...]]:
    return _sql(
        running,
        "SELECT key, dispatched_at IS NOT NULL, dead_at IS NOT NULL, last_error IS NOT NULL"
        " FROM outbox_messages WHERE payload->>'subject' = ANY(%s)"
        " AND topic NOT LIKE 'internal.%%'",
        ids,
    )


@pytest.mark.timeout(240)
def test_the_broker_dying_mid_flow_loses_and_repeats_nothing(running: Running) -> None:
    cluster = running.cluster
    asyncio.run(_watch_events(cluster))
    asyncio.run(_drain_events(cluster))  # earlier tests' events
    workers = {host: [p.pid for p in cluster.procs[host]] for host in ("worker1", "worker2")}
    labour = cluster.sim_url("labour")
    try:
        first = _submit_n(running, 4)
        cluster.kill_relay()  # mid-flow: the broker is gone for every host at once
        # The API does not need the broker: submissions go on (their events wait in the
        # outbox), and /readyz says so without leaving the load balancer empty.
        during = _submit_n(running, 4)
        ready = httpx.get(f"{cluster.lb_url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "degraded"
        assert ready.json()["checks"]["broker"].startswith("unavailable")
        ids = [*first, *during]
        # The outbox keeps what it cannot publish, and the labour office (reached over AMQP)
        # has not been asked about the applications submitted since.
        waiting = {f"application.submitted:{i}": (False, False) for i in during}
        outbox = {key: (sent, dead) for key, sent, dead, _ in _outbox(running, during)}
        assert {key: outbox[key] for key in waiting} == waiting
        ledger = httpx.get(f"{labour}/_sim/ledger", timeout=10).json()["entries"]
        keys = {
            str(key)
            for (key,) in _sql(
                running,
                "SELECT idempotency_key FROM application_tasks WHERE application_id = ANY(%s)",
                during,
            )
        }
        assert not [e for e in ledger if e["key"] in keys]
        assert _states(running, during) == Counter({"in_progress": 4})
        cluster.start_relay()  # the broker is back

        _wait_approved(running, ids, timeout=150)
        _assert_exactly_once(running, ids)
        # Every event of these applications is published (none dead, none left behind; the
        # last ones may still wait for their retry's back-off) ...
        deadline = time.monotonic() + 90
        rows = _outbox(running, ids)
        while not all(sent for _, sent, _, _ in rows) and time.monotonic() < deadline:
            time.sleep(0.5)
            rows = _outbox(running, ids)
        pending = _sql(
            running,
            "SELECT key, attempts, last_error, dead_at FROM outbox_messages"
            " WHERE payload->>'subject' = ANY(%s) AND dispatched_at IS NULL",
            ids,
        )
        assert {(sent, dead) for _, sent, dead, _ in rows} == {(True, False)}, pending
        published = {str(key) for key, *_ in rows}
        assert {f"application.submitted:{i}" for i in ids} <= published
        # ... and reached the broker under its outbox key (an integrator deduplicates on it).
        received = asyncio.run(_drain_events(cluster))
        assert published <= set(received)
        # The worker processes reconnected by themselves: none was restarted.
        for host, pids in workers.items():
            assert [p.pid for p in cluster.procs[host]] == pids
            assert all(p.poll() is None for p in cluster.procs[host]), cluster.log(host)
    finally:
        if cluster.relay is None:
            cluster.start_relay()


def _restore_to(cluster: Cluster, base: str, target: str) -> str:
    """What the drill in docs/operations/cluster.md does on a spare host: unpack the base
    backup, replay the WAL archive up to ``target``, promote; the spare host's address."""
    address = cluster.add_host("restore", 51)
    spare = cluster.root / "restore"
    spare.mkdir(mode=0o755)
    subprocess.run(["chown", "postgres:", str(spare)], check=True)
    data = spare / "data"
    cluster.in_ns("restore", ["cp", "-a", base, str(data)], user="postgres")
    with (data / "postgresql.auto.conf").open("a") as conf:
        conf.write(
            f"listen_addresses = '{address}'\nunix_socket_directories = '{spare}'\n"
            "synchronous_standby_names = ''\nprimary_conninfo = ''\n"
            # Never into the live archive: a restored server starts a timeline of its own.
            "archive_mode = off\n"
            f"restore_command = 'cp {cluster.wal_archive}/%f %p'\n"
            f"recovery_target_time = '{target}'\nrecovery_target_action = 'promote'\n"
        )
    (data / "recovery.signal").touch()
    subprocess.run(["chown", "postgres:", str(data / "recovery.signal")], check=True)
    cluster.in_ns(
        "restore",
        [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(spare / "postgres.log"), "-w", "start"],
        user="postgres",
    )
    wait_for(
        lambda: _on_spare(cluster, address, "SELECT pg_is_in_recovery()") == [(False,)],
        60,
        "recovery complete",
    )
    return address


def _on_spare(cluster: Cluster, address: str, query: str) -> list[tuple[Any, ...]]:
    dsn = (
        f"host={address} port={PG_PORT} dbname=civicloom user=civicloom"
        f" password={cluster.secret['db_password']} connect_timeout=5"
    )
    with psycopg.connect(dsn) as conn:
        return conn.execute(query).fetchall()


@pytest.mark.timeout(240)
def test_a_base_backup_and_the_wal_archive_restore_to_a_point_in_time(running: Running) -> None:
    cluster = running.cluster
    primary = cluster.primary()
    base = cluster.root / "backup" / "base"
    base.parent.mkdir(mode=0o755)
    subprocess.run(["chown", "postgres:", str(base.parent)], check=True)
    passfile = cluster.root / primary / "pgpass"
    conninfo = f"host={cluster.ip(primary)} port={PG_PORT} user=replicator passfile={passfile}"
    backup = [str(PG_BIN / "pg_basebackup"), "-d", conninfo, "-D", str(base), "-X", "stream"]
    # from any host allowed to connect for replication; not the database's own
    cluster.in_ns("sims", [*backup, "--checkpoint=fast", "--no-sync"], user="postgres")
    kept = _submit_n(running, 3)  # after the base backup: only the archive has them
    committed = {str(i) for (i,) in _sql(running, "SELECT id FROM applications")}
    target = str(_sql(running, "SELECT clock_timestamp()")[0][0])
    lost = _submit_n(running, 2)  # after the point in time: not restored
    segment = cluster.psql(primary, "SELECT pg_walfile_name(pg_switch_wal())").strip()
    wait_for(
        lambda: (cluster.wal_archive / segment).exists(), 60, f"WAL segment {segment} archived"
    )

    timelines = sorted(p.name for p in cluster.wal_archive.glob("*.history"))
    spare = _restore_to(cluster, str(base), target)

    restored = {str(i) for (i,) in _on_spare(cluster, spare, "SELECT id FROM applications")}
    assert set(kept) <= restored
    assert not set(lost) & restored
    assert restored == committed
    # The audit chains and seals of the restored database check out (the CLI an operator runs).
    url = cluster.database_url(failover=False).replace(cluster.ip("pg1"), spare)
    env = {**cluster.app_env(), "CIVICLOOM_DATABASE_URL": url}
    verify = subprocess.run(
        [sys.executable, "-m", "civicloom", "audit", "verify"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    said = verify.stdout + verify.stderr
    # Exit 3: intact, but reads of personal data recorded before the target wait to be folded
    # (no worker runs on the spare; ADR 0081). Anything else but 0 is a failure.
    assert verify.returncode == 0 or (
        verify.returncode == 3 and "is the worker's audit-read-fold job running?" in said
    ), said
    assert "audit intact:" in said, said
    # The live cluster did not notice: its primary still takes writes, the archive has no
    # timeline of the restored server's.
    assert cluster.primary() == primary
    assert sorted(p.name for p in cluster.wal_archive.glob("*.history")) == timelines
    _submit_n(running, 1)
