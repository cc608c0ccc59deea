"""``civicloom demo loadgen`` against the real department simulators (SOAP/batch files,
REST, signed callbacks, AMQP), then ``civicloom kpi report`` on what it produced."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.simulators.harness import REPO_ROOT
from tests.system.platform import Platform


def _cli(platform: Platform, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "civicloom", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **platform.env, "CIVICLOOM_LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.postgres
@pytest.mark.rabbitmq
@pytest.mark.timeout(300)
def test_loadgen_through_the_simulators_then_kpi_report(platform: Platform) -> None:
    run = _cli(platform, "demo", "loadgen", "3", "--departments", "simulators", "--seed", "3")
    assert run.returncode == 0, run.stdout + run.stderr + platform.logs()
    assert "through department simulators via connectors" in " ".join(run.stdout.split())

    url = make_url(platform.database_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
        apps = conn.execute("SELECT id, state FROM applications").fetchall()
    assert len(apps) == 3
    assert all(state in ("approved", "rejected") for _, state in apps), apps
    tax_keys = {e["key"] for e in platform.ledger("tax")}
    for app_id, _ in apps:  # keys are random per task (ADR 0032)
        assert platform.task_keys({app_id}) & tax_keys, "every application reached the tax system"

    report = _cli(platform, "kpi", "report", "--service", "open-a-restaurant", "--csv")
    assert report.returncode == 0, report.stderr
    rows = {
        (r["section"], r["key"], r["department"]): r["value"]
        for r in csv.DictReader(io.StringIO(report.stdout))
    }
    assert rows[("applications", "submitted", "")] == "3"
    approved = sum(1 for _, state in apps if state == "approved")
    assert rows.get(("applications", "approved", ""), "0") == str(approved)

    bad = _cli(platform, "kpi", "report", "--service", "open-a-restaurant", "--from", "soon")
    assert bad.returncode == 2
    assert "from" in bad.stdout
