"""docs/how-to/run-the-chaos-suite.md is followed (ADR 0031), lightly: running the chaos suite
is the durability job's work, so this test checks what the page tells a reader to type: its
commands collect exactly the tests it describes, the seed variable and the registry it names
are the code's, and every path it mentions exists."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.durability.servers import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "how-to" / "run-the-chaos-suite.md"


def _bash_lines(text: str) -> list[str]:
    blocks = re.findall(r"^```bash\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def _collected(pytest_args: list[str]) -> list[str]:
    """The test ids pytest would run for these arguments (collected, not run)."""
    paths = [a for a in pytest_args if not a.startswith("-")]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *paths],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_the_pages_commands_run_the_tests_it_describes() -> None:
    lines = _bash_lines(PAGE.read_text(encoding="utf-8"))
    assert lines == [
        "export PYTHONPATH=$PWD/src:$PWD",
        "CI=true bash scripts/test.sh -q -s tests/durability",
        "CI=true bash scripts/test.sh -q -s tests/durability/test_chaos.py",
        "CIVICLOOM_CHAOS_SEED=612763 CI=true bash scripts/test.sh -q -s "
        "tests/durability/test_chaos.py",
    ]
    runs = [shlex.split(line) for line in lines[1:]]
    for words in runs:
        script = words.index("bash") + 1
        assert (ROOT / words[script]).is_file()
    assert _collected(runs[0][runs[0].index("bash") + 2 :]) == [
        "tests/durability/test_chaos.py::test_every_connector_kind_survives_chaos",
        "tests/durability/test_kill_workers.py::test_a_department_outage_delays_but_loses_nothing",
        "tests/durability/test_reaping.py::"
        "test_servers_of_a_hard_killed_session_are_stopped_by_the_next_one",
    ]
    assert _collected(runs[1][runs[1].index("bash") + 2 :]) == [
        "tests/durability/test_chaos.py::test_every_connector_kind_survives_chaos"
    ]


def test_the_names_and_paths_on_the_page_are_the_codes() -> None:
    text = PAGE.read_text(encoding="utf-8")
    chaos = (ROOT / "tests" / "durability" / "test_chaos.py").read_text(encoding="utf-8")
    assert 'os.environ.get("CIVICLOOM_CHAOS_SEED")' in chaos
    assert "replays the schedule)" in chaos  # the seed line the page shows
    assert "sim_seed=chaos_seed" in chaos  # the simulators follow the seed, as the page says
    assert f"`{REGISTRY}/`" in text
    mentioned = set(re.findall(r"`((?:tests|docs|scripts)/[^`\s]+)`", text))
    assert mentioned == {
        "tests/durability/",
        "tests/integration/test_chaos_howto.py",
        "tests/durability/servers.py",
        "tests/durability/test_reaping.py",
        "tests/durability/test_chaos.py",
        "tests/durability/test_kill_workers.py",
        "tests/system/platform.py",
        "docs/adr/0045-chaos-suite-on-its-own-servers-and-a-fenced-outbox-relay.md",
    }
    for path in mentioned:
        assert (ROOT / path).exists(), path
