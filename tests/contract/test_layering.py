"""import-linter really fails the build when an import breaks the layering."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _lint_imports(src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{ROOT}"}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            "--config",
            str(ROOT / "pyproject.toml"),
            "--no-cache",
        ],
        cwd=src.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_real_tree_keeps_its_contracts(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src", src)
    result = _lint_imports(src)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_outward_import_breaks_the_build(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src", src)
    ids = src / "civicloom" / "kernel" / "ids.py"
    ids.write_text(ids.read_text() + "\nfrom civicloom.web import deps  # noqa\n")
    result = _lint_imports(src)
    assert result.returncode != 0
    assert "civicloom.kernel" in result.stdout
