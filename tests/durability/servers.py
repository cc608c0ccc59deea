"""PostgreSQL and RabbitMQ servers of the durability tests' own (ADR 0045).

The durability tests restart "the database" and "the broker". Other engineers and the rest of
the CI suite use the shared servers at the same time, so these tests never touch them: each
session starts its own PostgreSQL cluster (``initdb`` into a temporary directory, ``pg_ctl``
on a free port, trust authentication) and its own RabbitMQ node (its own node name, AMQP and
distribution ports, Mnesia directory and Erlang cookie). Restarting one of them restarts only
it; its data (the database, durable queues) survives the restart as on a real server.

PostgreSQL and RabbitMQ refuse to run as root: when the tests run as root the servers run as
the Debian packages' ``postgres`` and ``rabbitmq`` users (``runuser``), otherwise as the
current user.

Both servers outlive a pytest that is killed hard (``pg_ctl`` daemonises PostgreSQL; the
Erlang VM is a grandchild), so a parent-death signal cannot stop them. Each started server is
written down instead (``REGISTRY``: the owning pytest's pid and start time, and what is needed
to stop it); the next session's ``reap_orphans`` stops and deletes every server whose owner is
gone, before it starts its own.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.simulators.harness import free_port

RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
REGISTRY = Path(tempfile.gettempdir()) / "civicloom-durability-servers"
"""One JSON file per running private server: who started it and how to stop it."""


def _started_at(pid: int) -> str | None:
    """The process's start time (clock ticks since boot), or None if it is gone: a pid with
    another start time is another process (the pid was reused)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _register(kind: str, root: Path, **how: object) -> Path:
    """Write down a server this process started (removed again when it is destroyed)."""
    REGISTRY.mkdir(mode=0o1777, exist_ok=True)
    record = REGISTRY / f"{kind}-{root.name}.json"
    owner = os.getpid()
    record.write_text(
        json.dumps(
            {"kind": kind, "root": str(root), "owner": owner, "owner_started": _started_at(owner)}
            | how
        )
    )
    return record


def reap_orphans() -> list[str]:
    """Stop and delete the private servers whose pytest is gone (killed hard); returns what
    was reaped. Servers of a pytest still running are left alone."""
    reaped = []
    for record in sorted(REGISTRY.glob("*.json")) if REGISTRY.is_dir() else []:
        try:
            entry = json.loads(record.read_text())
        except (OSError, ValueError):
            continue
        owner_started = _started_at(int(entry["owner"]))
        if owner_started is not None and owner_started == entry["owner_started"]:
            continue  # its owner still runs
        root, user = Path(entry["root"]), entry.get("user")
        if entry["kind"] == "postgres":
            PrivatePostgres(root, int(entry["port"]), Path(entry["bindir"]), user).destroy()
        else:
            PrivateRabbit(root, int(entry["port"]), int(entry["dist_port"]), user).destroy()
        record.unlink(missing_ok=True)
        reaped.append(f"{entry['kind']} on port {entry['port']} (owner {entry['owner']})")
    return reaped


class ServerUnavailable(RuntimeError):
    """The binaries to start a private server are not installed here."""


def _as_user(user: str | None, argv: list[str], env: dict[str, str] | None = None) -> list[str]:
    """``argv`` run as ``user`` (root only), with ``env`` set explicitly."""
    env_args = ["env", *(f"{k}={v}" for k, v in (env or {}).items())]
    if user is None:
        return [*env_args, *argv]
    return ["runuser", "-u", user, "--", *env_args, *argv]


def _service_user(name: str) -> str | None:
    """The user a server runs as: ``name`` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(name)
    except KeyError as exc:
        raise ServerUnavailable(f"running as root and there is no {name!r} user") from exc
    return name


def _give(path: Path, user: str | None) -> None:
    if user is not None:
        shutil.chown(path, user)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait_port(port: int, up: bool, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while _accepts(port) != up:
        if time.monotonic() > deadline:
            state = "accept" if up else "refuse"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise TimeoutError(f"{what} did not {state} connections on {port}: {timeout}s\n{tail}")
        time.sleep(0.1)


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of its own on 127.0.0.1:<port>."""

    root: Path
    port: int
    bindir: Path
    user: str | None
    record: Path | None = None  # its entry in ``REGISTRY``

    @property
    def admin_url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database (trust authentication)."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def data(self) -> Path:
        """The cluster's data directory."""
        return self.root / "data"

    @property
    def log(self) -> Path:
        """The server's log file."""
        return self.root / "postgres.log"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            _as_user(self.user, [str(self.bindir / "pg_ctl"), "-D", str(self.data), *args]),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c max_connections=300 -c fsync=off -c full_page_writes=off"
        )
        self._pg_ctl("-l", str(self.log), "-w", "-t", "60", "-o", options, "start")
        _wait_port(self.port, True, 30, "PostgreSQL", self.log)

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are disconnected)."""
        self._pg_ctl("-m", "fast", "-w", "-t", "60", "stop")

    def restart(self) -> None:
        """Stop and start again; every open connection is cut."""
        self.stop()
        self.start()

    def destroy(self) -> None:
        """Stop (if running) and delete the cluster."""
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
        if self.record is not None:
            self.record.unlink(missing_ok=True)


def start_private_postgres() -> PrivatePostgres:
    """``initdb`` a fresh cluster in a temporary directory and start it on a free port."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        raise ServerUnavailable("no PostgreSQL server binaries under /usr/lib/postgresql")
    bindir = Path(candidates[-1]).parent
    user = _service_user("postgres")
    root = Path(tempfile.mkdtemp(prefix="civicloom-durability-pg-"))
    root.chmod(0o755)
    _give(root, user)
    subprocess.run(
        _as_user(
            user,
            [
                str(bindir / "initdb"),
                "-D",
                str(root / "data"),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    server = PrivatePostgres(root, free_port(), bindir, user)
    server.record = _register(
        "postgres", root, port=server.port, bindir=str(bindir), user=user
    )  # before it starts: a kill while it starts leaves it written down
    try:
        server.start()
    except BaseException:
        server.destroy()
        raise
    return server


@dataclass
class PrivateRabbit:
    """A RabbitMQ node of its own: node name, ports, Mnesia directory and cookie."""

    root: Path
    port: int
    dist_port: int
    user: str | None
    proc: subprocess.Popen[bytes] | None = None
    record: Path | None = None  # its entry in ``REGISTRY``

    @property
    def nodename(self) -> str:
        """The Erlang node name (unique per port)."""
        return f"civicloom-chaos-{self.port}@localhost"

    @property
    def url(self) -> str:
        """AMQP URL (guest may connect from localhost)."""
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def log(self) -> Path:
        """What the node printed."""
        return self.root / "server.log"

    def _env(self) -> dict[str, str]:
        return {
            "HOME": str(self.root / "home"),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONF_ENV_FILE": str(self.root / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def start(self) -> None:
        """Start the node and wait until it accepts AMQP connections."""
        log = self.log.open("ab")
        self.proc = subprocess.Popen(
            _as_user(self.user, [str(RABBITMQ_BIN / "rabbitmq-server")], self._env()),
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _wait_port(self.port, True, 60, "RabbitMQ", self.log)

    def stop(self) -> None:
        """Stop this node only (``rabbitmqctl -n <this node> stop``)."""
        subprocess.run(
            _as_user(
                self.user,
                [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", self.nodename, "stop"],
                self._env(),
            ),
            check=False,
            capture_output=True,
            timeout=60,
        )
        if self.proc is not None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None
        _wait_port(self.port, False, 30, "RabbitMQ", self.log)

    def restart(self) -> None:
        """Stop and start again: every connection is cut, durable queues survive."""
        self.stop()
        self.start()

    def destroy(self) -> None:
        """Stop (if running: started here, or found running by ``reap_orphans``) and delete
        the node's files."""
        if self.proc is not None or _accepts(self.port):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        if self.record is not None:
            self.record.unlink(missing_ok=True)


def start_private_rabbit() -> PrivateRabbit:
    """Start a fresh RabbitMQ node on free ports (no plugins)."""
    if not (RABBITMQ_BIN / "rabbitmq-server").exists():
        raise ServerUnavailable(f"no RabbitMQ server under {RABBITMQ_BIN}")
    user = _service_user("rabbitmq")
    root = Path(tempfile.mkdtemp(prefix="civicloom-durability-mq-"))
    root.chmod(0o755)
    port, dist_port = free_port(), free_port()
    (root / "rabbitmq.conf").write_text(
        f"listeners.tcp.local = 127.0.0.1:{port}\nloopback_users.guest = true\n"
    )
    (root / "rabbitmq-env.conf").write_text("")
    (root / "enabled_plugins").write_text("[].\n")
    home = root / "home"
    home.mkdir()
    cookie = home / ".erlang.cookie"
    cookie.write_text(secrets.token_hex(16).upper())
    cookie.chmod(0o400)
    for path in (root, home, cookie, *(root / n for n in ("rabbitmq.conf", "enabled_plugins"))):
        _give(path, user)
    _give(root / "rabbitmq-env.conf", user)
    server = PrivateRabbit(root, port, dist_port, user)
    server.record = _register("rabbitmq", root, port=port, dist_port=dist_port, user=user)
    try:
        server.start()
    except BaseException:
        server.destroy()
        raise
    return server
