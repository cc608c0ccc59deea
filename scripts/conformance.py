"""``make conformance``: the GovStack conformance tests against a freshly started platform.

A scratch SQLite database (or ``CIVICLOOM_DATABASE_URL`` if set, e.g. a scratch PostgreSQL
database), migrated, with the demo world; the platform started as ``civicloom run`` starts it
(API, worker, department simulators on a free block of ports) with its GovStack listeners
(``GOVSTACK_PORT``, default 3333, where the Messaging, Registration and Digital Registries
suites point, and ``GOVSTACK_IM_PORT``, default 3366, the Information Mediator suite's port);
the GovStack fixtures loaded (some read the departments' simulators); then
``pytest tests/conformance/<bb>`` for each building block with ``GOVSTACK_URL`` and
``GOVSTACK_API_KEY``, and a table of passed/failed per building block. The platform is stopped
at the end. Exit status 1 when any test failed.

The listener trusts the ``Information-Mediator-Client`` header here
(``CIVICLOOM_GOVSTACK_TRUST_IM_HEADER=true``), as it would behind an IM security server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE = ROOT / "tests" / "conformance"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _free_block(size: int = 20) -> int:
    """The first port of ``size`` free consecutive ports (the simulators' block)."""
    for base in range(20_000, 30_000, size):
        try:
            for port in range(base, base + size):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise SystemExit("no free block of ports for the simulators")


def _civicloom(env: dict[str, str], *args: str) -> None:
    command = [sys.executable, "-m", "civicloom", *args]
    subprocess.run(command, env=env, cwd=ROOT, check=True)  # noqa: S603 - our own CLI


def _wait(url: str, process: subprocess.Popen[bytes], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the platform exited early ({process.returncode})")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {seconds:.0f}s")


def _counts(report: Path) -> tuple[int, int]:
    """(passed, failed) from a JUnit XML report (errors count as failed)."""
    if not report.is_file():
        return 0, 0
    root = ET.parse(report).getroot()  # noqa: S314 - the report pytest just wrote
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    if suite is None:
        return 0, 0
    tests = int(suite.get("tests", 0))
    failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    skipped = int(suite.get("skipped", 0))
    return tests - failed - skipped, failed


def main() -> int:
    """Run it; the exit status."""
    scratch = Path(tempfile.mkdtemp(prefix="civicloom-conformance-"))
    gs_port = int(os.environ.get("GOVSTACK_PORT", "3333"))
    im_port = int(os.environ.get("GOVSTACK_IM_PORT", "3366"))
    api_port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "CIVICLOOM_DATABASE_URL": os.environ.get(
            "CIVICLOOM_DATABASE_URL", f"sqlite+aiosqlite:///{scratch / 'civicloom.db'}"
        ),
        "CIVICLOOM_VAR_DIR": str(scratch / "var"),
        "CIVICLOOM_PORT": str(api_port),
        "CIVICLOOM_WORKER_METRICS_PORT": str(_free_port()),
        "CIVICLOOM_SIMULATOR_BASE_PORT": str(_free_block()),
        "CIVICLOOM_GOVSTACK_PORTS": f"[{gs_port}, {im_port}]",
        "CIVICLOOM_GOVSTACK_TRUST_IM_HEADER": "true",
        "CIVICLOOM_LOG_JSON": "true",
        "CIVICLOOM_LOG_LEVEL": "WARNING",
    }
    _civicloom(env, "db", "upgrade")
    _civicloom(env, "demo", "load")
    key_file = scratch / "govstack-api-key"
    log = (scratch / "platform.log").open("wb")
    platform = subprocess.Popen(
        [sys.executable, "-m", "civicloom", "run"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    results: list[tuple[str, int, int]] = []
    try:
        _wait(f"http://127.0.0.1:{api_port}/readyz", platform)
        _wait(f"http://127.0.0.1:{gs_port}/listClients", platform)
        _wait(f"http://127.0.0.1:{im_port}/listClients", platform)
        # after the start: some fixtures read the departments' simulators; the listeners read
        # the registrations file on each request
        _civicloom(env, "govstack", "fixtures", "--key-file", str(key_file))
        test_env = {
            **env,
            "GOVSTACK_URL": f"http://127.0.0.1:{gs_port}",
            "GOVSTACK_API_KEY": key_file.read_text(encoding="utf-8").strip(),
        }
        blocks = sorted(d for d in CONFORMANCE.iterdir() if d.is_dir() and any(d.glob("test_*.py")))
        for block in blocks:
            report = scratch / f"{block.name}.xml"
            subprocess.run(  # noqa: S603 - pytest on our own tests
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    f"--junitxml={report}",
                    str(block),
                ],
                env=test_env,
                cwd=ROOT,
                check=False,
            )
            passed, failed = _counts(report)
            results.append((block.name, passed, failed))
    finally:
        platform.terminate()
        try:
            platform.wait(timeout=30)
        except subprocess.TimeoutExpired:
            platform.kill()
        log.close()
    print(f"\nGovStack conformance (platform log: {scratch / 'platform.log'})")
    print(f"{'building block':<20} {'passed':>7} {'failed':>7}")
    for name, passed, failed in results:
        print(f"{name:<20} {passed:>7} {failed:>7}")
    return 1 if any(failed for _, _, failed in results) else 0


if __name__ == "__main__":
    sys.exit(main())
