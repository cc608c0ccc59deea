"""`civicloom run` (what `make run` starts): everything comes up, answers, and stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from civicloom.settings import PROJECT_ROOT, load_simulators

# What `civicloom run` starts comes from the blueprints, not from platform code.
SIMULATORS = [s.name for s in load_simulators(PROJECT_ROOT / "blueprints")]


def _free_port_block(size: int) -> int:
    """A base port with ``size`` consecutive free ports after it."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
        if base + size >= 65000:
            continue
        ok = True
        for port in range(base, base + size):
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port block")


def _wait_for(url: str, deadline: float) -> httpx.Response:
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=1.0)
            if response.status_code == 200:
                return response
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready: {last}")


def test_run_starts_the_group_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    base = _free_port_block(len(SIMULATORS) + 2)  # simulators, API, worker metrics
    api_port = base + len(SIMULATORS)
    env = {
        **os.environ,
        "CIVICLOOM_VAR_DIR": str(tmp_path / "var"),
        "CIVICLOOM_DATABASE_URL": "",
        "CIVICLOOM_PORT": str(api_port),
        "CIVICLOOM_SIMULATOR_BASE_PORT": str(base),
        "CIVICLOOM_AMQP_URL": "",
    }
    cli = [sys.executable, "-m", "civicloom"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
    loaded = subprocess.run(
        [*cli, "demo", "load"], env=env, check=True, capture_output=True, text=True, timeout=120
    )
    assert "4 departments" in loaded.stdout

    group = subprocess.Popen(
        [*cli, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 90
        ready = _wait_for(f"http://127.0.0.1:{api_port}/readyz", deadline)
        assert ready.json()["status"] == "ready"
        assert SIMULATORS == ["local_admin", "tax", "environment", "labour", "payments", "sms"]
        for i, name in enumerate(SIMULATORS):  # port offsets 0..5, in declaration order
            health = _wait_for(f"http://127.0.0.1:{base + i}/_sim/health", deadline)
            assert health.json()["status"] == "ok", name
        # The legacy batch exchange is shared by the platform and the local-admin simulator.
        assert (tmp_path / "var" / "exchange" / "local-admin").is_dir()
        worker_metrics = _wait_for(f"http://127.0.0.1:{api_port + 1}/metrics", deadline)
        assert "civicloom_outbox_lag_seconds" in worker_metrics.text
        services = httpx.get(f"http://127.0.0.1:{api_port}/api/v1/services", timeout=5).json()
        assert {s["id"] for s in services} == {"open-a-restaurant", "change-of-business-address"}
    finally:
        group.send_signal(signal.SIGINT)
        output, _ = group.communicate(timeout=60)
    assert group.returncode == 0, output
    assert "civicloom is running" in output
    assert "Bearer dev:alice" in output
    assert "stopped." in output
    # Nothing is left listening.
    for port in [api_port, api_port + 1, *range(base, base + len(SIMULATORS))]:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open"
