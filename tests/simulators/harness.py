"""Start simulators as real subprocesses and wait for their readiness."""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """Return a TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met before the deadline")
        time.sleep(interval)


@dataclass
class SimProcess:
    """A running simulator subprocess."""

    name: str
    port: int
    data_dir: Path
    log_path: Path
    proc: subprocess.Popen[bytes]
    args: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Base URL of the simulator's HTTP API."""
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        """Return what the process wrote so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Kill the process and wait for it."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def reset(self) -> None:
        """Clear ledger, faults and state."""
        httpx.post(f"{self.url}/_sim/reset", timeout=5).raise_for_status()

    def set_faults(self, **faults: Any) -> None:
        """Replace the fault configuration."""
        httpx.put(f"{self.url}/_sim/faults", json=faults, timeout=5).raise_for_status()

    def ledger_entry(self, key: str) -> dict[str, Any] | None:
        """Return one ledger entry or None."""
        resp = httpx.get(f"{self.url}/_sim/ledger/{key}", timeout=5)
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        entry: dict[str, Any] = resp.json()
        return entry


def _healthy(sim: SimProcess) -> bool:
    if sim.proc.poll() is not None:
        raise RuntimeError(f"{sim.name} exited early:\n{sim.log()}")
    try:
        resp = httpx.get(f"{sim.url}/_sim/health", timeout=0.5)
    except httpx.TransportError:
        return False
    return resp.status_code == 200 and resp.json()["department"] == sim.name


def start_sim(
    name: str,
    workdir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    data_dir: Path | None = None,
    timeout: float = 20.0,
    seed: int = 7,
) -> SimProcess:
    """Start ``python -m simulators.<name>`` on a free port and wait until healthy; ``seed``
    seeds the simulator's fault RNG (the chaos suite passes its own seed)."""
    data_dir = data_dir or workdir / f"{name}-data"
    last_error: Exception | None = None
    for attempt in range(3):
        port = free_port()
        log_path = workdir / f"{name}-{port}-{attempt}.log"
        cmd = [
            sys.executable,
            "-m",
            f"simulators.{name}",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--seed",
            str(seed),
            *args,
        ]
        with log_path.open("wb") as out:
            proc = subprocess.Popen(
                cmd,
                cwd=REPO_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
            )
        sim = SimProcess(name, port, data_dir, log_path, proc, list(args))
        try:
            wait_for(functools.partial(_healthy, sim), timeout=timeout)
            return sim
        except (RuntimeError, TimeoutError) as exc:  # port race or crash: retry
            last_error = exc
            sim.stop()
    raise RuntimeError(f"could not start simulator {name}: {last_error}")
