"""A multi-host civicloom on one machine: Linux network namespaces on a private bridge (ADR 0060).

Hosts (one network namespace each, one veth into the bridge ``clbr<tag>``, on 10.231.<net>.0/24
with <net> a free number from 100 to 249):

======== ====== ==============================================================
host     .addr  runs
======== ====== ==============================================================
(root)   .1     the bridge's address: the RabbitMQ relay (the machine's broker
                listens on loopback only; ``relay.py``); the WAL archive is a
                directory of the cluster's (``wal_archive``)
lb       .10    HAProxy on :8080, health-checking both API hosts (``/readyz``)
api1/2   .11/12 ``civicloom serve`` (uvicorn) on :8000
worker1/2 .21/22 ``civicloom worker``
pg1      .31    PostgreSQL 15 primary (synchronous_standby_names = replica)
pg2      .32    PostgreSQL 15 streaming replica (``pg_basebackup -R``)
sims     .41    the six department simulators (:9001-9006) and an SMTP catcher
restore  .51    a spare host, added by the restore drill only (``add_host``)
======== ====== ==============================================================

Every application process runs the ``production`` profile with secrets generated here (secret
key, database and replication passwords, connector and webhook secrets; ``secrets.env``, mode
0600) and no dev login.

Everything a cluster creates is written down first (``REGISTRY/<tag>.json``: its owner's pid
and start time, its temporary directory, the relay's pid), and everything running inside its
namespaces is found by namespace (``ip netns pids``), so ``down`` stops it even when the
process that built it was killed half-way: a test session reaps clusters whose owner is gone,
``make cluster-down`` also those built by ``make cluster`` (no owner) and any namespace or
bridge named like ours that no record claims.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
REGISTRY = Path(tempfile.gettempdir()) / "civicloom-clusters"
NS_PREFIX = "civicloom-"
BRIDGE_PREFIX = "clbr"
SUBNET = "10.231"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
HOSTS = {
    "lb": 10,
    "api1": 11,
    "api2": 12,
    "worker1": 21,
    "worker2": 22,
    "pg1": 31,
    "pg2": 32,
    "sims": 41,
}
LB_PORT = 8080
API_PORT = 8000
PG_PORT = 5432
AMQP_PORT = 5672
SMTP_PORT = 2525
SIM_PORTS = {
    "local_admin": 9001,
    "tax": 9002,
    "environment": 9003,
    "labour": 9004,
    "payments": 9005,
    "sms": 9006,
}


@dataclass(frozen=True)
class Route:
    """What the load balancer serves on one of its ports: the same port on both API hosts."""

    frontend: str
    backend: str
    lb_port: int
    api_port: int
    health: str  # the path of the health check (200: the server takes requests)


APPLICATION = Route("public", "api", LB_PORT, API_PORT, "/readyz")


class ClusterError(RuntimeError):
    """The cluster could not be built (the message says which step and why)."""


def run(argv: list[str], *, timeout: float = 120, **kwargs: Any) -> str:
    """Run a command; its output, or a ClusterError naming the command and its error output."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)
    if done.returncode != 0:
        raise ClusterError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
    return str(done.stdout)


def started_at(pid: int) -> str | None:
    """The process's start time (clock ticks since boot), or None if it is gone: a pid with
    another start time is another process (the pid was reused)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def namespaces() -> list[str]:
    """Every network namespace on the machine that is named like ours."""
    out = run(["ip", "-j", "netns", "list"])
    names = [str(entry["name"]) for entry in json.loads(out or "[]")]
    return [n for n in names if n.startswith(NS_PREFIX)]


def bridges() -> list[str]:
    """Every bridge named like ours."""
    out = run(["ip", "-j", "link", "show", "type", "bridge"])
    return [str(e["ifname"]) for e in json.loads(out or "[]") if e["ifname"].startswith("clbr")]


def kill_namespace(ns: str) -> int:
    """kill -9 every process whose network namespace is ``ns`` (a host dying); how many."""
    pids = subprocess.run(
        ["ip", "netns", "pids", ns], capture_output=True, text=True, timeout=30
    ).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(p) for p in pids):
        time.sleep(0.05)
    return len(pids)


def _running(pid: str) -> bool:
    """Whether a process still runs (a zombie waiting for its parent's wait() does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _free_net(tag: str = "0") -> int:
    """A third octet of 10.231.x.0/24 that no interface on the machine uses (the search starts
    at a place drawn from the tag, so two sessions starting at once rarely pick the same)."""
    used = run(["ip", "-o", "-4", "addr", "show"])
    start = zlib.crc32(tag.encode()) % 150
    for step in range(150):
        net = 100 + (start + step) % 150
        if f" {SUBNET}.{net}." not in used:
            return net
    raise ClusterError(f"no free {SUBNET}.x.0/24 subnet left")


@dataclass
class Cluster:
    """One cluster's addresses, secrets and processes."""

    tag: str
    net: int
    root: Path
    api_workers: int = 1
    env_extra: dict[str, str] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=lambda: [APPLICATION])
    secret: dict[str, str] = field(default_factory=dict)
    procs: dict[str, list[subprocess.Popen[bytes]]] = field(default_factory=dict)
    relay: subprocess.Popen[bytes] | None = None
    timings: dict[str, float] = field(default_factory=dict)  # seconds per set-up step

    # -- addresses ---------------------------------------------------------------------------
    def ip(self, host: str) -> str:
        """A host's address on the bridge (``root``: the bridge itself)."""
        return f"{SUBNET}.{self.net}.{1 if host == 'root' else HOSTS[host]}"

    def ns(self, host: str) -> str:
        """A host's network namespace."""
        return f"{NS_PREFIX}{self.tag}-{host}"

    @property
    def bridge(self) -> str:
        """The bridge every host's veth is attached to."""
        return f"{BRIDGE_PREFIX}{self.tag}"

    @property
    def lb_url(self) -> str:
        """The load balancer: the only address a citizen would know."""
        return f"http://{self.ip('lb')}:{LB_PORT}"

    def api_url(self, host: str) -> str:
        """One API host, directly (for tests and health checks)."""
        return f"http://{self.ip(host)}:{API_PORT}"

    def sim_url(self, sim: str) -> str:
        """A department simulator on the simulators' host."""
        return f"http://{self.ip('sims')}:{SIM_PORTS[sim]}"

    @property
    def amqp_prefix(self) -> str:
        """This cluster's queue names on the shared broker."""
        return f"cluster-{self.tag}."

    @property
    def events_exchange(self) -> str:
        """The topic exchange the outbox relay publishes this cluster's events to."""
        return f"{self.amqp_prefix}events"

    @property
    def wal_archive(self) -> Path:
        """Where the primary (whichever host it is) archives WAL segments (``archive_command``);
        off the database hosts in a real deployment."""
        return self.root / "wal-archive"

    def database_url(self, *, failover: bool = True) -> str:
        """The application's SQLAlchemy URL: both database hosts, the writable one chosen at
        connect time (``target_session_attrs=read-write``), or the primary alone."""
        auth = f"civicloom:{self.secret['db_password']}"
        if not failover:
            return f"postgresql+asyncpg://{auth}@{self.ip('pg1')}:{PG_PORT}/civicloom"
        hosts = "&".join(f"host={self.ip(h)}:{PG_PORT}" for h in ("pg1", "pg2"))
        return f"postgresql+asyncpg://{auth}@/civicloom?{hosts}&target_session_attrs=read-write"

    def libpq_url(self) -> str:
        """A libpq (psycopg) URL of both database hosts, read-write one first."""
        hosts = ",".join(f"{self.ip(h)}:{PG_PORT}" for h in ("pg1", "pg2"))
        password = self.secret["db_password"]
        return (
            f"postgresql://civicloom:{password}@{hosts}/civicloom?target_session_attrs=read-write"
        )

    @property
    def logs_dir(self) -> Path:
        """Every process's output, one file each."""
        return self.root / "logs"

    # -- record ------------------------------------------------------------------------------
    @property
    def record(self) -> Path:
        """This cluster's entry in ``REGISTRY``."""
        return REGISTRY / f"{self.tag}.json"

    def write_record(self, owner: int | None, **extra: Any) -> None:
        """Write down what to tear down (before creating it)."""
        REGISTRY.mkdir(mode=0o700, exist_ok=True)
        entry: dict[str, Any] = {}
        if self.record.exists():
            entry = json.loads(self.record.read_text())
        entry |= {
            "tag": self.tag,
            "net": self.net,
            "root": str(self.root),
            "owner": owner,
            "owner_started": started_at(owner) if owner is not None else None,
        } | extra
        self.record.write_text(json.dumps(entry))

    # -- processes ---------------------------------------------------------------------------
    def spawn(
        self,
        host: str,
        name: str,
        argv: list[str],
        env: dict[str, str] | None = None,
        user: str | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` on ``host`` (inside its namespace), output to ``logs/<host>-<name>``."""
        prefix = ["ip", "netns", "exec", self.ns(host)]
        if user is not None:
            prefix += ["runuser", "-u", user, "--"]
        log = (self.logs_dir / f"{host}-{name}.log").open("ab")
        proc = subprocess.Popen(
            [*prefix, "env", *(f"{k}={v}" for k, v in (env or {}).items()), *argv],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.procs.setdefault(host, []).append(proc)
        return proc

    def in_ns(self, host: str, argv: list[str], user: str | None = None, **kw: Any) -> str:
        """Run a command to completion on ``host``."""
        prefix = ["ip", "netns", "exec", self.ns(host)]
        if user is not None:
            prefix += ["runuser", "-u", user, "--"]
        return run([*prefix, *argv], **kw)

    def kill_host(self, host: str) -> int:
        """kill -9 everything running on ``host``: the machine lost power."""
        killed = kill_namespace(self.ns(host))
        for proc in self.procs.pop(host, []):
            proc.wait(timeout=10)
        return killed

    def set_link(self, host: str, up: bool) -> None:
        """Unplug (or plug back) a host's network cable: its connections stall, nothing dies."""
        run(["ip", "-n", self.ns(host), "link", "set", "eth0", "up" if up else "down"])

    def log(self, host: str) -> str:
        """What ``host``'s processes printed (the end of each log)."""
        return "\n".join(
            f"--- {p.name}\n" + p.read_text(errors="replace")[-3000:]
            for p in sorted(self.logs_dir.glob(f"{host}-*.log"))
        )

    # -- environment -------------------------------------------------------------------------
    def app_env(self) -> dict[str, str]:
        """The production settings every API and worker host runs with."""
        s = self.secret
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root),
            "PYTHONPATH": f"{REPO_ROOT / 'src'}:{REPO_ROOT}",
            "CIVICLOOM_PROFILE": "production",
            "CIVICLOOM_SECRET_KEY": s["secret_key"],
            "CIVICLOOM_DATABASE_URL": self.database_url(),
            "CIVICLOOM_VAR_DIR": str(self.root / "shared"),
            "CIVICLOOM_KEYS_DIR": str(self.root / "shared" / "keys"),
            "CIVICLOOM_AMQP_URL": f"amqp://guest:guest@{self.ip('root')}:{AMQP_PORT}/",
            "CIVICLOOM_AMQP_QUEUE_PREFIX": self.amqp_prefix,
            # The events too: the broker is shared, and teardown deletes what carries the prefix.
            "CIVICLOOM_EVENTS_EXCHANGE": self.events_exchange,
            "CIVICLOOM_PUBLIC_URL": self.lb_url,
            "CIVICLOOM_SMTP_HOST": self.ip("sims"),
            "CIVICLOOM_SMTP_PORT": str(SMTP_PORT),
            "CIVICLOOM_SMS_PROVIDER_URL": self.sim_url("sms"),
            "CIVICLOOM_PAYMENTS_PROVIDER_URL": self.sim_url("payments"),
            "CIVICLOOM_PAYMENTS_WEBHOOK_SECRET": s["payments_webhook"],
            "CIVICLOOM_CONNECTOR_SECRETS": json.dumps(
                {
                    "environment.callback": s["environment_callback"],
                    "local-admin.batch": s["local_admin_batch"],
                }
            ),
            "CIVICLOOM_CONNECTOR_BASE_URLS": json.dumps(
                {
                    "tax": self.sim_url("tax"),
                    "local-admin": self.sim_url("local_admin"),
                    "environment": self.sim_url("environment"),
                    "labour": self.sim_url("labour"),
                }
            ),
            "CIVICLOOM_LOG_LEVEL": "WARNING",
            # uvicorn believes X-Forwarded-For from the load balancer only.
            "FORWARDED_ALLOW_IPS": self.ip("lb"),
            # ... and so does the platform's own client address (rate limits, /metrics: ADR 0062)
            "CIVICLOOM_TRUSTED_PROXIES": json.dumps([self.ip("lb")]),
            "CIVICLOOM_METRICS_TOKEN": s["metrics_token"],
            **self.env_extra,
        }

    # -- hosts -------------------------------------------------------------------------------
    def start_api(self, host: str, *, wait: bool = True) -> None:
        """``civicloom serve`` on an API host; waits until ``/readyz`` answers 200."""
        self.spawn(
            host,
            "api",
            [
                sys.executable,
                "-m",
                "civicloom",
                "serve",
                "--host",
                self.ip(host),
                "--port",
                str(API_PORT),
                "--workers",
                str(self.api_workers),
            ],
            self.app_env(),
        )
        if wait:
            self.wait_api(host)

    def wait_api(self, host: str) -> None:
        """Wait until an API host's ``/readyz`` answers 200."""
        # 99 s measured with two uvicorn processes per host at load average 15-19 on 2 cores
        # (every helper's suite at once): importing the application is CPU-bound.
        ready = functools.partial(_answers_200, f"{self.api_url(host)}/readyz")
        wait_for(ready, 240, f"{host} ready")

    def start_worker(self, host: str) -> None:
        """``civicloom worker`` on a worker host (its id is the host name)."""
        argv = [sys.executable, "-m", "civicloom", "worker", "--worker-id", host]
        self.spawn(host, "worker", argv, self.app_env())

    def start_lb(self) -> None:
        """HAProxy in front of both API hosts, one frontend per route; waits until the
        application's route answers."""
        config = self.root / "haproxy.cfg"
        config.write_text(
            f"""global
    maxconn 2000
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout queue 10s
    timeout check 5s
    option forwardfor
    option redispatch
    retries 3
    # A request that reached no server is sent to the other one; one that reached a server
    # that then died is retried only when it is a GET (a POST may have been applied).
    retry-on conn-failure empty-response response-timeout
{"".join(self._lb_route(route) for route in self.routes)}"""
        )
        self.spawn("lb", "haproxy", ["haproxy", "-db", "-f", str(config)])
        wait_for(lambda: http_status(f"{self.lb_url}/readyz") == 200, 30, "load balancer")

    def _lb_route(self, route: Route) -> str:
        """A frontend on the load balancer and its backend: the same port on both API hosts,
        round robin, health-checked; every route is served the same way."""
        servers = "".join(
            f"    server {h} {self.ip(h)}:{route.api_port} check inter 500ms fall 2 rise 2\n"
            for h in ("api1", "api2")
        )
        return f"""frontend {route.frontend}
    bind {self.ip("lb")}:{route.lb_port}
    http-request disable-l7-retry unless METH_GET
    default_backend {route.backend}
backend {route.backend}
    balance roundrobin
    option httpchk GET {route.health}
    http-check expect status 200
    http-response set-header X-Served-By %s
{servers}"""

    def start_sims(self, *, wait: bool = True) -> None:
        """The department simulators and an SMTP catcher on the simulators' host."""
        s, sims_ip = self.secret, self.ip("sims")
        exchange = self.root / "shared" / "exchange" / "local-admin"
        exchange.mkdir(parents=True, exist_ok=True)
        extra = {
            "local_admin": [
                "--exchange-dir",
                str(exchange),
                # one argument with its "=": a generated secret may begin with "-"
                f"--batch-secret={s['local_admin_batch']}",
                "--batch-interval",
                "0.3",
            ],
            "environment": [
                f"--callback-secret={s['environment_callback']}",
                "--callback-delay-ms",
                "200",
            ],
            "labour": [
                "--amqp-url",
                f"amqp://guest:guest@{self.ip('root')}:{AMQP_PORT}/",
                "--amqp-prefix",
                self.amqp_prefix,
            ],
            "payments": [f"--webhook-secret={s['payments_webhook']}"],
        }
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": f"{REPO_ROOT}:{REPO_ROOT / 'src'}"}
        for sim, port in SIM_PORTS.items():
            argv = [sys.executable, "-m", f"simulators.{sim}", "--host", sims_ip]
            argv += ["--port", str(port), "--data-dir", str(self.root / "sims" / sim)]
            self.spawn("sims", sim, [*argv, *extra.get(sim, [])], env)
        smtp = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"{sims_ip}:{SMTP_PORT}"]
        self.spawn("sims", "smtp", smtp, env)
        if wait:
            self.wait_sims()

    def wait_sims(self) -> None:
        """Wait until every simulator answers its health check."""
        for sim in SIM_PORTS:
            healthy = functools.partial(_answers_200, f"{self.sim_url(sim)}/_sim/health")
            wait_for(healthy, 60, f"simulator {sim}")

    def start_relay(self) -> None:
        """The broker host: a relay on the bridge's address to the loopback RabbitMQ."""
        log = (self.logs_dir / "root-relay.log").open("ab")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scripts.cluster.relay",
                f"{self.ip('root')}:{AMQP_PORT}",
                f"127.0.0.1:{AMQP_PORT}",
            ],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.write_record(self._owner(), relay_pid=proc.pid, relay_started=started_at(proc.pid))
        self.procs.setdefault("root", []).append(proc)
        self.relay = proc
        wait_for(
            lambda: _accepts(self.ip("root"), AMQP_PORT) or proc.poll() is not None, 10, "relay"
        )
        if proc.poll() is not None:
            raise ClusterError(f"the relay exited {proc.returncode}: {self.log('root')}")

    def kill_relay(self) -> None:
        """kill -9 the broker relay: every AMQP connection of every host drops at once and new
        ones are refused, as when the broker dies (the shared broker itself stays up)."""
        proc = self.relay
        if proc is not None:
            proc.kill()
            proc.wait(timeout=10)
            self.procs["root"].remove(proc)
            self.relay = None

    def _owner(self) -> int | None:
        if not self.record.exists():
            return None
        owner: int | None = json.loads(self.record.read_text())["owner"]
        return owner

    # -- PostgreSQL --------------------------------------------------------------------------
    def _pg(self, host: str) -> Path:
        return self.root / host

    def pg_ctl(self, host: str, *args: str) -> str:
        """``pg_ctl`` for a database host's data directory, as ``postgres``, in its namespace."""
        data = self._pg(host) / "data"
        argv = [str(PG_BIN / "pg_ctl"), "-D", str(data), *args]
        return self.in_ns(host, argv, user="postgres")

    def psql(self, host: str, sql: str) -> str:
        """Run SQL as the superuser over the host's Unix socket (local trust)."""
        argv = [str(PG_BIN / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"]
        argv += ["-h", str(self._pg(host)), "-p", str(PG_PORT), "-U", "postgres", "-c", sql]
        return self.in_ns(host, argv, user="postgres")

    def start_pg(self, host: str) -> None:
        """Start a database host's server and wait until it accepts connections."""
        log = self._pg(host) / "postgres.log"
        self.pg_ctl(host, "-l", str(log), "-w", "-t", "60", "start")

    def start_primary(self) -> None:
        """initdb, configure and start the primary; create the application and replication
        roles with generated passwords."""
        pg = self._pg("pg1")
        pg.mkdir(mode=0o755)
        shutil.chown(pg, "postgres")
        self.wal_archive.mkdir(mode=0o700)
        shutil.chown(self.wal_archive, "postgres")
        initdb = [str(PG_BIN / "initdb"), "-D", str(pg / "data"), "-U", "postgres", "-E", "UTF8"]
        initdb += ["--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"]
        self.in_ns("pg1", initdb, user="postgres")
        subnet, archive = f"{SUBNET}.{self.net}.0/24", self.wal_archive
        with (pg / "data" / "pg_hba.conf").open("a") as hba:
            hba.write(f"host replication replicator {subnet} scram-sha-256\n")
            hba.write(f"host civicloom civicloom {subnet} scram-sha-256\n")
        with (pg / "data" / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '{self.ip('pg1')}'\nport = {PG_PORT}\n"
                f"unix_socket_directories = '{pg}'\n"
                "wal_level = replica\nmax_wal_senders = 10\nmax_connections = 200\n"
                "hot_standby = on\nwal_keep_size = '256MB'\n"
                # Durability against a host's loss comes from the synchronous standby here;
                # the disks of this one machine are not what the cluster demonstrates.
                "fsync = off\nfull_page_writes = off\n"
                # A host cut off mid-transaction keeps its row locks until PostgreSQL notices
                # it is gone: TCP keepalives (~11 s) and a lost-client check end its session.
                "tcp_keepalives_idle = 5\ntcp_keepalives_interval = 2\n"
                "tcp_keepalives_count = 3\nclient_connection_check_interval = '2s'\n"
                "idle_in_transaction_session_timeout = '15s'\n"
                # Point-in-time recovery (the restore drill): every WAL segment is copied out;
                # a standby promoted later archives its new timeline to the same place.
                "archive_mode = on\n"
                f"archive_command = 'test ! -f {archive}/%f && cp %p {archive}/%f'\n"
            )
        self.start_pg("pg1")
        db, repl = self.secret["db_password"], self.secret["replication_password"]
        self.psql("pg1", f"CREATE ROLE civicloom LOGIN PASSWORD '{db}'")
        self.psql("pg1", "CREATE DATABASE civicloom OWNER civicloom")
        self.psql("pg1", f"CREATE ROLE replicator REPLICATION LOGIN PASSWORD '{repl}'")

    def start_replica(self, host: str = "pg2", primary: str = "pg1") -> None:
        """``pg_basebackup -R`` from the primary, then start streaming; the primary then waits
        for the replica on every commit (synchronous_standby_names)."""
        pg = self._pg(host)
        pg.mkdir(mode=0o755, exist_ok=True)
        shutil.chown(pg, "postgres")
        passfile = pg / "pgpass"
        passfile.write_text(f"*:{PG_PORT}:*:replicator:{self.secret['replication_password']}\n")
        passfile.chmod(0o600)
        shutil.chown(passfile, "postgres")
        conninfo = (
            f"host={self.ip(primary)} port={PG_PORT} user=replicator passfile={passfile}"
            " application_name=replica"
        )
        basebackup = [str(PG_BIN / "pg_basebackup"), "-d", conninfo, "-D", str(pg / "data")]
        self.in_ns(
            host,
            [*basebackup, "-X", "stream", "-R", "--no-sync", "--checkpoint=fast"],
            user="postgres",
        )
        with (pg / "data" / "postgresql.auto.conf").open("a") as conf:
            conf.write(
                f"primary_conninfo = '{conninfo}'\n"
                f"listen_addresses = '{self.ip(host)}'\n"
                f"unix_socket_directories = '{pg}'\n"
                # the primary's own setting, copied with its files: a standby waits for nobody
                "synchronous_standby_names = ''\n"
            )
        self.start_pg(host)
        self.psql(primary, "ALTER SYSTEM SET synchronous_standby_names = 'replica'")
        self.psql(primary, "SELECT pg_reload_conf()")
        wait_for(
            lambda: (
                self.psql(primary, "SELECT sync_state FROM pg_stat_replication").strip() == "sync"
            ),
            30,
            "synchronous replica",
        )

    def primary(self) -> str:
        """The database host that accepts writes now."""
        for host in ("pg1", "pg2"):
            with contextlib.suppress(ClusterError):
                if self.psql(host, "SELECT pg_is_in_recovery()").strip() == "f":
                    return host
        raise ClusterError("no database host accepts writes")

    def rejoin_as_standby(self, old: str, primary: str) -> Path:
        """Bring a failed primary back as a synchronous standby of the new one: its data
        directory is fenced (renamed, never started again: it may hold WAL the new primary
        never saw) and replaced by a fresh ``pg_basebackup`` (ADR 0060: not ``pg_rewind``,
        which needs ``wal_log_hints`` and ``full_page_writes``). Returns the fenced directory."""
        data = self._pg(old) / "data"
        fenced = data.with_name(f"data.fenced-{int(time.time())}")
        if data.exists():
            data.rename(fenced)
        self.start_replica(host=old, primary=primary)
        return fenced

    def add_host(self, host: str, octet: int) -> str:
        """One more namespace on the bridge (a spare machine, e.g. for a restore drill); torn
        down with the cluster (its name carries the tag). Returns its address."""
        address = f"{SUBNET}.{self.net}.{octet}"
        self._plug(self.ns(host), address, f"cl{self.tag}x{octet}", f"cl{self.tag}y{octet}")
        return address

    def _plug(self, ns: str, address: str, outside: str, inside: str) -> None:
        """A namespace with a veth pair: ``outside`` on the bridge, ``inside`` in the
        namespace as ``eth0`` with ``address``; both up, and the namespace's loopback."""
        run(["ip", "netns", "add", ns])
        run(["ip", "link", "add", outside, "type", "veth", "peer", "name", inside])
        run(["ip", "link", "set", outside, "master", self.bridge, "up"])
        run(["ip", "link", "set", inside, "netns", ns])
        run(["ip", "-n", ns, "link", "set", inside, "name", "eth0"])
        run(["ip", "-n", ns, "addr", "add", f"{address}/24", "dev", "eth0"])
        run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])

    # -- whole cluster -----------------------------------------------------------------------
    def build_network(self) -> None:
        """The bridge, one namespace per host, a veth each, addresses and routes."""
        run(["ip", "link", "add", self.bridge, "type", "bridge"])
        run(["ip", "addr", "add", f"{self.ip('root')}/24", "dev", self.bridge])
        run(["ip", "link", "set", self.bridge, "up"])
        for index, host in enumerate(HOSTS):
            ns = self.ns(host)
            self._plug(ns, self.ip(host), f"cl{self.tag}o{index}", f"cl{self.tag}i{index}")
            run(["ip", "-n", ns, "route", "add", "default", "via", self.ip("root")])

    def generate_secrets(self) -> None:
        """Fresh secrets for this cluster, also written to ``secrets.env`` (0600)."""
        self.secret = {
            name: secrets.token_urlsafe(32)
            for name in (
                "secret_key",
                "db_password",
                "replication_password",
                "environment_callback",
                "local_admin_batch",
                "payments_webhook",
                "metrics_token",
            )
        }
        path = self.root / "secrets.env"
        path.touch(mode=0o600)
        path.write_text("".join(f"{k.upper()}={v}\n" for k, v in self.secret.items()))

    def bring_up(self) -> None:
        """Build the network and start every host (the record was written before)."""
        self.logs_dir.mkdir(exist_ok=True)
        (self.root / "shared").mkdir(exist_ok=True)
        self.generate_secrets()
        steps: list[tuple[str, Callable[[], object]]] = [
            ("network", self.build_network),
            ("primary", self.start_primary),
            ("replica", self.start_replica),
            ("relay", self.start_relay),
            ("simulators started", lambda: self.start_sims(wait=False)),
            ("key and schema", self.migrate),
            ("hosts started", self.start_hosts),  # they import while the demo loads
            ("demo", self.load_demo),
            ("simulators ready", self.wait_sims),
            ("api1 ready", lambda: self.wait_api("api1")),
            ("api2 ready", lambda: self.wait_api("api2")),
            ("load balancer ready", self.start_lb),
        ]
        for what, step in steps:
            began = time.monotonic()
            step()
            self.timings[what] = round(time.monotonic() - began, 1)

    def settings(self) -> Any:
        """The hosts' production ``Settings``, for work done from this process."""
        from civicloom.settings import Settings

        env = self.app_env()
        fields: dict[str, Any] = {
            name.removeprefix("CIVICLOOM_").lower(): value
            for name, value in env.items()
            if name.startswith("CIVICLOOM_")
        }
        for name in ("connector_secrets", "connector_base_urls", "trusted_proxies"):
            fields[name] = json.loads(fields[name])
        return Settings(**fields)

    def migrate(self) -> None:
        """The signing key and the schema, from this process (no interpreter to start)."""
        from civicloom.audit.signing import generate_key
        from civicloom.db.migrate import upgrade

        settings = self.settings()
        generate_key(settings.effective_keys_dir)
        upgrade(settings.migrations_dir, settings.effective_database_url)

    def load_demo(self) -> None:
        """Register the departments and publish the demo services (``civicloom demo load``)."""
        from civicloom.bootstrap import build_container
        from civicloom.demo import load_demo

        async def main() -> None:
            container = build_container(self.settings())
            try:
                await load_demo(container, progress=lambda _: None)
            finally:
                await container.database.dispose()

        asyncio.run(main())

    def start_hosts(self) -> None:
        """Start both API hosts and both worker hosts (without waiting)."""
        for host in ("api1", "api2"):
            self.start_api(host, wait=False)
        for host in ("worker1", "worker2"):
            self.start_worker(host)

    def down(self) -> None:
        """Stop everything and delete the namespaces, the bridge and the files."""
        teardown(self.tag)
        for procs in self.procs.values():
            for proc in procs:
                proc.wait(timeout=10)
        self.procs.clear()


def http_status(url: str, timeout: float = 2) -> int | None:
    """The status a GET answers, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - http only
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return None


def _accepts(host: str, port: int) -> bool:
    """Whether something accepts TCP connections there."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _answers_200(url: str) -> bool:
    return http_status(url) == 200


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    """Poll until ``predicate`` is true; TimeoutError naming ``what`` when the time is up."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except (ClusterError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g} s")
        time.sleep(0.1)


async def _drop_amqp_topology(prefix: str) -> None:
    import aio_pika

    try:
        connection = await aio_pika.connect(f"amqp://guest:guest@127.0.0.1:{AMQP_PORT}/", timeout=5)
    except Exception:
        return
    async with connection:
        channel = await connection.channel()
        for queue in ("labour.requests", "labour.requests.dead"):  # the labour office's
            await channel.queue_delete(prefix + queue)
        await channel.queue_delete(prefix + "events.watch")  # a test's witness of the events
        for exchange in ("labour.dlx", "labour.events", "events"):
            await channel.exchange_delete(prefix + exchange)


def teardown(tag: str) -> list[str]:
    """Everything of cluster ``tag`` stopped and deleted; what was removed."""
    removed = []
    record = REGISTRY / f"{tag}.json"
    entry: dict[str, Any] = {}
    if record.exists():
        try:
            entry = json.loads(record.read_text())
        except ValueError:
            entry = {}
    relay = entry.get("relay_pid")
    if relay is not None and started_at(int(relay)) == entry.get("relay_started"):
        os.kill(int(relay), signal.SIGKILL)
        removed.append(f"relay {relay}")
    for ns in namespaces():
        if ns.startswith(f"{NS_PREFIX}{tag}-"):
            killed = kill_namespace(ns)
            run(["ip", "netns", "del", ns])
            removed.append(f"{ns} ({killed} processes)")
    if f"{BRIDGE_PREFIX}{tag}" in bridges():
        run(["ip", "link", "del", f"{BRIDGE_PREFIX}{tag}"])
        removed.append(f"{BRIDGE_PREFIX}{tag}")
    asyncio.run(_drop_amqp_topology(f"cluster-{tag}."))
    if entry.get("root"):
        shutil.rmtree(entry["root"], ignore_errors=True)
    record.unlink(missing_ok=True)
    return removed


def reap(*, detached_too: bool) -> list[str]:
    """Tear down the clusters whose owner is gone (and, with ``detached_too``, those built by
    ``make cluster``, which have no owner); what was removed."""
    reaped = []
    for record in sorted(REGISTRY.glob("*.json")) if REGISTRY.is_dir() else []:
        try:
            entry = json.loads(record.read_text())
        except (OSError, ValueError):
            entry = {"tag": record.stem, "owner": None}
        owner = entry.get("owner")
        alive = owner is not None and started_at(int(owner)) == entry.get("owner_started")
        if alive or (owner is None and not detached_too):
            continue
        reaped += [f"cluster {entry['tag']}: {what}" for what in teardown(entry["tag"])]
    return reaped


def reap_strays() -> list[str]:
    """Tear down namespaces and bridges named like ours that no record claims."""
    claimed = {record.stem for record in REGISTRY.glob("*.json")} if REGISTRY.is_dir() else set()
    strays = {n[len(NS_PREFIX) :].split("-", 1)[0] for n in namespaces()}
    strays |= {b[len(BRIDGE_PREFIX) :] for b in bridges()}
    reaped = []
    for tag in sorted(strays - claimed):
        reaped += [f"cluster {tag}: {what}" for what in teardown(tag)]
    return reaped


def up(
    *,
    owner: int | None,
    api_workers: int = 1,
    extra_routes: tuple[Route, ...] = (),
    **env_extra: str,
) -> Cluster:
    """Build and start a whole cluster. ``owner``: the process whose death lets the next
    ``reap`` tear it down (None: only ``make cluster-down`` does). ``extra_routes``: more
    frontends on the load balancer, for servers started on the API hosts later (a benchmark's
    reference). On any failure everything built so far is torn down before the error
    propagates."""
    if os.geteuid() != 0:
        raise ClusterError("network namespaces need root")
    for tool in ("ip", "haproxy", "runuser"):
        if shutil.which(tool) is None:
            raise ClusterError(f"{tool} is not installed (apt-get install haproxy iproute2)")
    if not (PG_BIN / "initdb").exists():
        raise ClusterError(f"no PostgreSQL 15 server binaries in {PG_BIN}")
    tag = secrets.token_hex(2)
    root = Path(tempfile.mkdtemp(prefix=f"civicloom-cluster-{tag}-"))
    root.chmod(0o755)
    cluster = Cluster(tag, _free_net(tag), root, api_workers, dict(env_extra))
    cluster.routes += extra_routes
    cluster.write_record(owner)
    try:
        cluster.bring_up()
    except BaseException:
        logs = "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}"
            for p in sorted(cluster.logs_dir.glob("*.log"))
        )
        cluster.down()
        if logs:
            print(logs, file=sys.stderr)
        raise
    return cluster
