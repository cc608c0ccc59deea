"""A pytest killed hard does not leave its private PostgreSQL and RabbitMQ running (issue 18):
the next session's ``reap_orphans`` stops and deletes them; a live session's are left alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.durability.servers import REGISTRY, _accepts, reap_orphans
from tests.simulators.harness import REPO_ROOT

STARTS_AND_WAITS = """
import json, signal
from tests.durability.servers import start_private_postgres, start_private_rabbit
pg = start_private_postgres()
mq = start_private_rabbit()
print(json.dumps({"pg": pg.port, "pg_root": str(pg.root), "mq": mq.port,
                  "mq_root": str(mq.root)}), flush=True)
signal.pause()  # until killed
"""


@pytest.mark.timeout(240)
def test_servers_of_a_hard_killed_session_are_stopped_by_the_next_one() -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", STARTS_AND_WAITS],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{REPO_ROOT / 'src'}:{REPO_ROOT}"},
    )
    assert owner.stdout is not None
    started = json.loads(owner.stdout.readline())
    try:
        # While the session lives its servers are its own: nothing is reaped.
        assert not any(str(owner.pid) in line for line in reap_orphans())
        assert _accepts(started["pg"])
        assert _accepts(started["mq"])

        owner.send_signal(signal.SIGKILL)  # no fixture teardown, no atexit
        owner.wait(timeout=30)
        assert _accepts(started["pg"])
        assert _accepts(started["mq"])

        reaped = reap_orphans()
        assert sorted(reaped) == sorted(
            [
                f"postgres on port {started['pg']} (owner {owner.pid})",
                f"rabbitmq on port {started['mq']} (owner {owner.pid})",
            ]
        )
        assert not _accepts(started["pg"])
        assert not _accepts(started["mq"])
        assert not Path(started["pg_root"]).exists()
        assert not Path(started["mq_root"]).exists()
        assert not [p for p in REGISTRY.glob("*.json") if str(owner.pid) in p.read_text()]
    finally:
        if owner.poll() is None:
            owner.kill()
        reap_orphans()  # whatever the assertions left
