"""docs/how-to/check-govstack-conformance.md, followed as written (ADR 0031): its environment,
its shell blocks with its start command between them, its hand calls and its conformance test
run."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.howtos import apply, snippets

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "docs" / "how-to" / "check-govstack-conformance.md"
SCRATCH = "/tmp/conformance"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _free_block(size: int = 20) -> int:
    for base in range(30_000, 40_000, size):
        try:
            for port in range(base, base + size):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise AssertionError("no free block of ports for the simulators")


def _page_environment(text: str, scratch: Path, ports: list[int]) -> dict[str, str]:
    exports = dict(re.findall(r"^export (CIVICLOOM_[A-Z_]+)=(\S+)", text, re.MULTILINE))
    assert exports == {
        "CIVICLOOM_DATABASE_URL": f"sqlite+aiosqlite:///{SCRATCH}/civicloom.db",
        "CIVICLOOM_VAR_DIR": f"{SCRATCH}/var",
        "CIVICLOOM_GOVSTACK_PORTS": "'[3333,3366]'",
        "CIVICLOOM_GOVSTACK_TRUST_IM_HEADER": "true",
    }
    env = {k: v.replace(SCRATCH, str(scratch)) for k, v in exports.items()}
    env["CIVICLOOM_GOVSTACK_PORTS"] = json.dumps(ports)  # free ports instead of 3333 and 3366
    return env


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(480):
        assert process.poll() is None, "civicloom run exited"
        try:
            if httpx.get(url, timeout=1).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"{url} did not answer")


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """Steps 1 to 4: the page's environment, its first shell block, its start command, its
    second shell block."""
    text = PAGE.read_text(encoding="utf-8")
    found = snippets(PAGE)
    assert [s.title for s in found] == ["shell", "shell"]
    ports = [_free_port(), _free_port()]
    api = _free_port()
    env = {
        **os.environ,
        **_page_environment(text, tmp_path, ports),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "CIVICLOOM_PORT": str(api),
        "CIVICLOOM_WORKER_METRICS_PORT": str(_free_port()),
        "CIVICLOOM_SIMULATOR_BASE_PORT": str(_free_block()),
        "CIVICLOOM_LOG_LEVEL": "WARNING",
    }
    apply(found[0], tmp_path, env)

    [start] = re.findall(r"^civicloom run.*$", text, re.MULTILINE)
    assert start == "civicloom run"
    process = subprocess.Popen(
        [sys.executable, "-m", "civicloom", *shlex.split(start)[1:]],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(f"http://127.0.0.1:{api}/readyz", process)
        _wait(f"http://127.0.0.1:{ports[1]}/listClients", process)
        output = apply(found[1], tmp_path, env)
        key = (tmp_path / "govstack-api-key").read_text(encoding="utf-8").strip()
        assert f"GOVSTACK_API_KEY={key}" in output[-1]
        assert "suites' messaging key: abcdef12345" in output[-1]
        assert (tmp_path / "var" / "govstack-clients.json").is_file()
        env["GOVSTACK_API_KEY"] = key
        yield f"http://127.0.0.1:{ports[0]}", env
    finally:
        process.terminate()
        process.wait(timeout=60)  # the group stops every child
    assert process.returncode == 0


def test_a_deployment_checked_as_the_page_says(platform: tuple[str, dict[str, str]]) -> None:
    url, env = platform
    # step 5, by hand
    clients = httpx.get(f"{url}/listClients").json()["member"]
    assert {"civicloom/GOV/tax/capabilities", "civicloom/GOV/civicloom/messaging"} <= {
        f"{c['GovStackInstance']}/{c['memberClass']}/{c['memberCode']}/{c['applicationCode']}"
        for c in clients
    }
    sent = httpx.post(
        f"{url}/send/email/single",
        headers={"api_key": "abcdef12345"},
        json={
            "recipientInfo": {"email": "customer@example.com"},
            "emailContent": {"title": "Hello", "content": "A first message"},
        },
    )
    assert sent.status_code == 200, sent.text
    status = httpx.get(
        f"{url}/status/email?status[]=scheduled&status[]=delivered",
        headers={"api_key": "abcdef12345", "requestUID": sent.json()["requestUID"]},
    )
    # one message, scheduled or already sent by the worker
    assert sorted(status.json()) == ["delivered", "scheduled"]
    assert sum(status.json().values()) == 1

    # step 6, the repository's own conformance tests
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/conformance/messaging",
            "tests/conformance/mediator",
        ],
        cwd=ROOT,
        env={**env, "GOVSTACK_URL": url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert re.search(r"\b64 passed\b", done.stdout), done.stdout[-500:]
