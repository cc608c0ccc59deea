"""Every module has the same face (ADR 0029): routers are built only in ``api.py`` /
``pages.py`` or in packages of those names (docs/how-to/add-a-module.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _builds_a_router(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name == "APIRouter":
                return True
    return False


def misplaced_routers(package: Path) -> list[str]:
    """Files under ``package`` that build an ``APIRouter`` outside ``api``/``pages``."""
    found = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package.parent)
        in_face = path.stem in ("api", "pages") or {"api", "pages"} & set(rel.parts[1:-1])
        if not in_face and _builds_a_router(path):
            found.append(rel.as_posix())
    return found


def test_routers_live_only_in_api_and_pages() -> None:
    assert misplaced_routers(ROOT / "src" / "civicloom") == []


def test_a_router_in_a_file_of_another_name_is_found(tmp_path: Path) -> None:
    package = tmp_path / "civicloom"
    (package / "kpis" / "pages").mkdir(parents=True)
    (package / "kpis" / "web.py").write_text("from fastapi import APIRouter\nr = APIRouter()\n")
    (package / "kpis" / "api.py").write_text("import fastapi\nr = fastapi.APIRouter()\n")
    (package / "kpis" / "pages" / "board.py").write_text("from fastapi import APIRouter\n")
    (package / "kpis" / "pages" / "__init__.py").write_text("x = APIRouter()\n")
    (package / "kpis" / "services.py").write_text("def apirouter() -> None: ...\n")
    assert misplaced_routers(package) == ["civicloom/kpis/web.py"]
