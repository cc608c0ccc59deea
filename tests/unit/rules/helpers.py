"""Copying the demo decision models into a scratch directory to change them safely."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEMO_RULES = PROJECT_ROOT / "blueprints" / "rules"


def copy_rules(tmp_path: Path) -> Path:
    """A writable copy of blueprints/rules."""
    target = tmp_path / "rules"
    shutil.copytree(DEMO_RULES, target)
    return target


def edit_json(path: Path, change: Any) -> None:
    """Load a JSON file, let ``change`` mutate it, write it back."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")


def fee_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of the licence fee table."""
    table = next(n for n in doc["nodes"] if n["id"] == "fee-table")
    rows: list[dict[str, Any]] = table["content"]["rules"]
    return rows


def as_draft_v2(rules_dir: Path, change: Any) -> Path:
    """Create licence-fee v2 as a draft copy of v1 with ``change`` applied to its JSON."""
    folder = rules_dir / "local-admin" / "licence-fee"
    v2 = folder / "v2.json"
    shutil.copy(folder / "v1.json", v2)
    shutil.copy(folder / "v1.tests.yaml", folder / "v2.tests.yaml")

    def draft(doc: dict[str, Any]) -> None:
        doc["metadata"] = {"version": 2, "status": "draft", "valid_from": "2027-01-01"}
        change(doc)

    edit_json(v2, draft)
    return v2
