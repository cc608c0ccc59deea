"""docs/how-to/check-govstack-conformance.md, followed as written (ADR 0031): its environment,
its shell block, its serve command, its hand calls and its conformance test run."""

from __future__ import annotations

import os
import re
import shlex
import signal
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


def _page_environment(text: str, scratch: Path) -> dict[str, str]:
    exports = dict(re.findall(r"^export (CIVICLOOM_[A-Z_]+)=(\S+)", text, re.MULTILINE))
    assert sorted(exports) == [
        "CIVICLOOM_DATABASE_URL",
        "CIVICLOOM_GOVSTACK_TRUST_IM_HEADER",
        "CIVICLOOM_VAR_DIR",
    ]
    return {k: v.replace(SCRATCH, str(scratch)) for k, v in exports.items()}


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """Steps 1 to 3: the page's environment, its shell block, its serve command."""
    text = PAGE.read_text(encoding="utf-8")
    found = snippets(PAGE)
    assert [s.title for s in found] == ["shell"]
    env = {
        **os.environ,
        **_page_environment(text, tmp_path),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "CIVICLOOM_PORT": str(_free_port()),
        "CIVICLOOM_LOG_LEVEL": "WARNING",
    }
    output = apply(found[0], tmp_path, env)
    key = (tmp_path / "govstack-api-key").read_text(encoding="utf-8").strip()
    assert f"GOVSTACK_API_KEY={key}" in output[-1]
    assert "suites' messaging key: abcdef12345" in output[-1]
    assert (tmp_path / "var" / "govstack-clients.json").is_file()
    env["GOVSTACK_API_KEY"] = key

    [serve] = re.findall(r"^civicloom serve .*$", text, re.MULTILINE)
    assert serve == "civicloom serve --govstack-port 3333 --govstack-port 3366"
    ports = [_free_port(), _free_port()]
    command = shlex.split(serve)[1:]
    command[command.index("3333")] = str(ports[0])
    command[command.index("3366")] = str(ports[1])
    process = subprocess.Popen(
        [sys.executable, "-m", "civicloom", *command],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{ports[0]}"
        for _ in range(240):
            assert process.poll() is None, "civicloom serve exited"
            try:
                if httpx.get(f"http://127.0.0.1:{ports[1]}/listClients", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        yield url, env
    finally:
        process.terminate()
        process.wait(timeout=30)  # every listener stops (uvicorn re-raises the signal after)
    assert process.returncode in (0, -signal.SIGTERM)


def test_a_deployment_checked_as_the_page_says(platform: tuple[str, dict[str, str]]) -> None:
    url, env = platform
    # step 4, by hand
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
    assert status.json() == {"scheduled": 1, "delivered": 0}

    # step 5, the repository's own conformance tests
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
    assert re.search(r"\b56 passed\b", done.stdout), done.stdout[-500:]
