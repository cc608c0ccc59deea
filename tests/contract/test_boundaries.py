"""The boundary check of ``make lint`` passes on the real tree and fails on each kind of breach."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_boundaries.py"


def _check(src: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(src)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_real_tree_keeps_its_boundaries() -> None:
    result = _check(ROOT / "src")
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip() == "boundaries: kept"


def test_a_router_reaching_into_app_state_breaks_the_build(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "civicloom", src / "civicloom")
    router = src / "civicloom" / "portal" / "pages" / "apply.py"
    router.write_text(
        router.read_text()
        + "\n\ndef sneaky(request):  # type: ignore\n"
        + "    return request.app.state.capability_gateway\n"
    )
    result = _check(src)
    assert result.returncode == 1
    assert "civicloom/portal/pages/apply.py" in result.stdout
    assert "app.state outside civicloom/web" in result.stdout
    assert "boundaries: 1 breach(es)" in result.stdout


def test_reading_global_settings_outside_the_root_breaks_the_build(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "civicloom", src / "civicloom")
    module = src / "civicloom" / "payments" / "services.py"
    module.write_text(
        module.read_text() + "\n\ndef sneaky():  # type: ignore\n    return get_settings()\n"
    )
    result = _check(src)
    assert result.returncode == 1
    assert "civicloom/payments/services.py" in result.stdout
    assert "get_settings() outside the composition root" in result.stdout


def test_an_application_rows_state_is_not_a_breach(tmp_path: Path) -> None:
    src = tmp_path / "src" / "civicloom" / "applications"
    src.mkdir(parents=True)
    (src / "rows.py").write_text("def state_of(app):  # type: ignore\n    return app.state\n")
    result = _check(tmp_path / "src")
    assert result.returncode == 0, result.stdout
