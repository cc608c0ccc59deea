"""The public API contract is a committed file; a change to the API must change it visibly."""

from __future__ import annotations

import json
from pathlib import Path

from civicloom.bootstrap import build_app
from civicloom.settings import Profile, Settings

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "reference" / "openapi.json"


def test_committed_openapi_matches_the_code() -> None:
    document = build_app(Settings(profile=Profile.TEST)).openapi()
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == json.loads(json.dumps(document)), (
        "docs/reference/openapi.json is stale: run `civicloom docs openapi` and review the diff"
    )


def test_every_operation_documents_problem_responses() -> None:
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    for path, operations in document["paths"].items():
        if not path.startswith("/api/v1/applications"):
            continue
        for method, operation in operations.items():
            assert "422" in operation["responses"], f"{method.upper()} {path}"
            assert "application/problem+json" in operation["responses"]["422"]["content"]
