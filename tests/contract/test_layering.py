"""import-linter really fails the build when an import breaks the layering."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import tomllib
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


def test_importing_another_modules_tables_breaks_the_build(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src", src)
    compute = src / "civicloom" / "kpis" / "compute.py"
    compute.write_text(
        compute.read_text() + "\nfrom civicloom.applications.tables import TaskRow  # noqa\n"
    )
    result = _lint_imports(src)
    assert result.returncode != 0
    assert "Modules own their tables: applications BROKEN" in result.stdout
    assert "civicloom.kpis.compute -> civicloom.applications.tables" in result.stdout


def test_every_module_with_tables_has_its_contract() -> None:
    with (ROOT / "pyproject.toml").open("rb") as f:
        contracts = tomllib.load(f)["tool"]["importlinter"]["contracts"]
    protected = {
        module: contract["allowed_importers"]
        for contract in contracts
        if contract["type"] == "protected"
        for module in contract["protected_modules"]
    }
    owners = sorted(p.parent.name for p in (ROOT / "src" / "civicloom").glob("*/tables.py"))
    assert owners, "no module has a tables.py?"
    for owner in owners:
        assert protected.get(f"civicloom.{owner}.tables") == [
            f"civicloom.{owner}",
            "civicloom.schema",
        ], f"civicloom.{owner}.tables has no 'Modules own their tables' contract"


def test_no_package_exports_a_table() -> None:
    from civicloom.db import Base

    exporting = []
    for init in sorted((ROOT / "src" / "civicloom").glob("*/__init__.py")):
        package = importlib.import_module(f"civicloom.{init.parent.name}")
        for name in getattr(package, "__all__", ()):
            value = getattr(package, name)
            if isinstance(value, type) and issubclass(value, Base) and value is not Base:
                exporting.append(f"civicloom.{init.parent.name}.{name}")
    assert exporting == []
