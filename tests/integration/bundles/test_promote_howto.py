"""docs/how-to/promote-a-change.md, followed as written (ADR 0031): two deployments, a SQLite
database each; a change approved in test; the page's shell blocks run on the deployment their
heading names (``test``, ``test``, ``production``), production with the page's settings file.
The only word replaced is ``CHANGE-ID``, which the page tells the reader to replace."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from civicloom.governance import ChangeState, get_change
from tests.howtos import apply, snippets
from tests.integration.bundles.world import Deployment, approved_in, deployment, read, write

PAGE = Path(__file__).resolve().parents[3] / "docs/how-to/promote-a-change.md"


@pytest.fixture
async def deployments(
    sqlite_template: Path, tmp_path: Path
) -> AsyncIterator[tuple[Deployment, Deployment]]:
    made = []
    for name in ("test", "production"):
        db = tmp_path / f"{name}.db"
        shutil.copy(sqlite_template, db)
        made.append(deployment(name, f"sqlite+aiosqlite:///{db}", tmp_path / name, {}))
    yield made[0], made[1]
    for d in made:
        await d.container.close()
        await d.container.database.dispose()


def environment(d: Deployment, extra: dict[str, str] | None = None) -> dict[str, str]:
    settings = d.container.settings
    return {
        **os.environ,
        "CIVICLOOM_PROFILE": "test",
        "CIVICLOOM_DATABASE_URL": settings.database_url,
        "CIVICLOOM_VAR_DIR": str(settings.var_dir),
        "CIVICLOOM_BLUEPRINTS_DIR": str(d.ws.blueprints_dir),
        "CIVICLOOM_ENVIRONMENT_NAME": d.name,
        **(extra or {}),
    }


def said(output: str) -> list[str]:
    """What a command told the operator (its structured log lines left out)."""
    return [line for line in output.splitlines() if line and not line.startswith("{")]


def env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in read(path).splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


async def test_the_page_as_written(
    deployments: tuple[Deployment, Deployment], tmp_path: Path
) -> None:
    test, production = deployments
    change_id = await approved_in(test)
    blocks = snippets(PAGE)
    assert [b.title for b in blocks] == ["shell", "production.env", "shell", "shell"]
    keys, settings_file, export, import_ = blocks
    operations = tmp_path / "operations"  # where the operator runs the commands
    operations.mkdir()

    apply(keys, operations, environment(test))
    apply(settings_file, operations, {})
    on_production = environment(production, env_file(operations / "production.env"))
    assert on_production["CIVICLOOM_ENVIRONMENT_NAME"] == "production"

    assert "CHANGE-ID" in export.text
    (exported,) = apply(
        replace(export, text=export.text.replace("CHANGE-ID", change_id)),
        operations,
        environment(test),
    )
    (line,) = said(exported)
    assert line.startswith("bundle 1 of test (")
    assert line.endswith(") with 1 change(s) written to change.bundle")

    imported, listed = apply(import_, operations, on_production)
    (line,) = said(imported)
    assert line.startswith(
        "bundle 1 from test imported: 1 change request(s) await checks and approval here: "
    )
    local_id = line.rsplit(" ", 1)[1]
    (line,) = said(listed)
    assert " imported from test #1 " in line
    assert line.endswith(f": {local_id}")

    queued = await get_change(production.container.uow(), local_id)
    assert queued.state is ChangeState.SUBMITTED
    assert queued.source_environment == "test"
    assert queued.missing == ("local-admin", "central")
    assert queued.checks_passed

    # the same commands refuse a replay and a changed byte, saying why, and exit 1
    replay = refused_by_cli(["bundle", "import", "change.bundle"], operations, on_production)
    assert replay.startswith("change.bundle: bundle refused (replay): bundle 1 from test was ")
    signed = read(operations / "change.bundle")
    middle = len(signed) // 2
    write(
        operations / "tampered.bundle",
        signed[:middle] + ("A" if signed[middle] != "A" else "B") + signed[middle + 1 :],
    )
    tampered = refused_by_cli(["bundle", "import", "tampered.bundle"], operations, on_production)
    assert tampered.startswith("tampered.bundle: bundle refused (tampered): ")
    assert "the bundle was changed after it was signed" in tampered


def refused_by_cli(arguments: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run ``civicloom …`` expecting a refusal; its message to the operator (stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "civicloom", *arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    (message,) = said(done.stderr)
    return message
