"""Boundaries import-linter cannot see (run by ``make lint``; see ADR 0025).

1. Only the web plumbing (``civicloom/web/``) and the app factory (``civicloom/app.py``) touch
   ``request.app.state``: everything else reaches the process's components through the typed
   dependencies of ``civicloom.web`` (or the container, outside a request).
2. Only the composition root (``bootstrap.py``), the settings module and CLI entry points
   (``cli.py``, ``*/cli.py``) call ``get_settings()``: everything else is handed its settings.

Usage: ``python scripts/check_boundaries.py [SRC_DIR]`` (default ``src``); exit 1 on a breach.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

STATE_ALLOWED = ("civicloom/web/", "civicloom/app.py")
SETTINGS_ALLOWED = ("civicloom/bootstrap.py", "civicloom/settings.py", "civicloom/cli.py")


def _is_app_state(node: ast.AST) -> bool:
    """``request.app.state`` (an application row's ``app.state`` is its own business)."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "state"
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "app"
        and isinstance(node.value.value, ast.Name)
        and node.value.value.id in ("request", "websocket", "scope")
    )


def _is_get_settings_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    return name == "get_settings"


def breaches(src: Path) -> list[str]:
    """Every breach under ``src``, as ``path:line: message``."""
    found: list[str] = []
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src).as_posix()
        tree = ast.parse(path.read_text(), filename=str(path))
        state_ok = rel.startswith(STATE_ALLOWED)
        settings_ok = rel in SETTINGS_ALLOWED or rel.endswith("/cli.py")
        for node in ast.walk(tree):
            line = getattr(node, "lineno", 0)
            if not state_ok and _is_app_state(node):
                found.append(
                    f"{rel}:{line}: app.state outside civicloom/web: use a dependency "
                    "of civicloom.web (component(KEY)) or the container"
                )
            if not settings_ok and _is_get_settings_call(node):
                found.append(
                    f"{rel}:{line}: get_settings() outside the composition root: "
                    "take the settings from the container"
                )
    return found


def main(argv: list[str]) -> int:
    """Print every breach; exit 1 when there is one."""
    src = Path(argv[1]) if len(argv) > 1 else Path("src")
    found = breaches(src)
    for line in found:
        print(line)
    print(f"boundaries: {len(found)} breach(es)" if found else "boundaries: kept")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
