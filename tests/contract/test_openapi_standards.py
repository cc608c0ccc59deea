"""The two OpenAPI checks of ``make lint`` (ADR 0051): Spectral's ruleset and the breaking-change
check pass on the committed document and fail on an intentionally broken temporary copy."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scripts.check_openapi_breaking import breaking_changes

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "reference" / "openapi.json"
RULESET = ROOT / ".spectral.yaml"
SPECTRAL = ROOT / "node_modules" / ".bin" / "spectral"
BREAKING = ROOT / "scripts" / "check_openapi_breaking.py"


def _committed() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(COMMITTED.read_text(encoding="utf-8"))
    return document


def _spectral(document: Path) -> tuple[int, list[dict[str, Any]]]:
    """Run the project's Spectral (installed by ``npm ci``) as ``make lint`` does."""
    assert SPECTRAL.exists(), "node_modules/.bin/spectral is missing: run `make install-dev`"
    result = subprocess.run(
        [
            str(SPECTRAL),
            "lint",
            "--ruleset",
            str(RULESET),
            "--fail-severity=warn",
            "--format=json",
            "--quiet",
            str(document),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    findings: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    return result.returncode, findings


def test_the_committed_document_passes_the_ruleset() -> None:
    code, findings = _spectral(COMMITTED)
    assert findings == []
    assert code == 0


def test_a_document_breaking_the_conventions_fails_spectral(tmp_path: Path) -> None:
    document = _committed()
    services = document["paths"].pop("/api/v1/services")
    del services["get"]["operationId"]
    del services["get"]["summary"]
    document["paths"]["/api/v1/publishedServices"] = services
    document["paths"]["/services"] = {"get": copy.deepcopy(services["get"])}
    status = document["paths"]["/api/v1/applications/{application_id}/status"]["get"]
    status["responses"]["404"]["content"] = {
        "application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    del document["components"]["schemas"]["ServiceOut"]["examples"]
    broken = tmp_path / "openapi.json"
    broken.write_text(json.dumps(document), encoding="utf-8")

    code, findings = _spectral(broken)

    assert code == 1
    rules = {(f["code"], tuple(f["path"][:2])) for f in findings}
    assert ("civicloom-paths-kebab-case", ("paths", "/api/v1/publishedServices")) in rules
    assert ("civicloom-versioned-base-path", ("paths", "/services")) in rules
    assert ("operation-operationId", ("paths", "/api/v1/publishedServices")) in rules
    assert ("civicloom-operation-summary", ("paths", "/api/v1/publishedServices")) in rules
    assert (
        "civicloom-problem-json-errors",
        ("paths", "/api/v1/applications/{application_id}/status"),
    ) in rules
    assert ("civicloom-response-examples", ("paths", "/api/v1/publishedServices")) in rules


def _breaking_document() -> dict[str, Any]:
    document = _committed()
    del document["paths"]["/api/v1/services"]
    schemas = document["components"]["schemas"]
    schemas["ApplicationCreate"]["required"].append("channel")
    schemas["ApplicationCreate"]["properties"]["channel"] = {"type": "string"}
    del schemas["ApplicationOut"]["properties"]["reference"]
    schemas["ApplicationOut"]["required"].remove("reference")
    schemas["ApplicationOut"]["properties"]["blueprint_version"] = {"type": "string"}
    del document["paths"]["/api/v1/tasks/{task_id}/claim"]["post"]["responses"]["409"]
    return document


def test_an_intentionally_breaking_change_fails_the_check(tmp_path: Path) -> None:
    head = tmp_path / "openapi.json"
    head.write_text(json.dumps(_breaking_document()), encoding="utf-8")

    result = subprocess.run(
        [sys.executable, str(BREAKING), "--base", str(COMMITTED), "--head", str(head)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1
    lines = set(result.stderr.splitlines()[1:])
    assert "  - /api/v1/services: path was removed" in lines
    assert "  - POST /api/v1/applications body: request field 'channel' is now required" in lines
    assert "  - POST /api/v1/applications 201: response field 'reference' was removed" in lines
    assert (
        "  - GET /api/v1/applications/{application_id} 200.blueprint_version: "
        "response type widened from integer to string"
    ) in lines
    assert "  - POST /api/v1/tasks/{task_id}/claim: response 409 was removed" in lines


def test_the_app_has_no_breaking_change_against_the_committed_document() -> None:
    result = subprocess.run(
        [sys.executable, str(BREAKING)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("no breaking change against")


def test_additions_pass() -> None:
    base = _committed()
    head = copy.deepcopy(base)
    head["paths"]["/api/v1/service-reports"] = {"get": {"responses": {"200": {}}}}
    schemas = head["components"]["schemas"]
    schemas["ApplicationCreate"]["properties"]["channel"] = {"type": "string"}
    schemas["ApplicationOut"]["properties"]["channel"] = {"type": "string"}
    head["paths"]["/api/v1/services"]["get"]["responses"]["503"] = {"description": "Down"}
    assert breaking_changes(base, head) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["components"]["schemas"]["DecisionIn"]["properties"].update(
                decision={"type": "integer"}
            ),
            "POST /api/v1/tasks/{task_id}/decision body.decision: "
            "request type narrowed from string to integer",
        ),
        (
            lambda d: d["paths"]["/api/v1/services"].pop("get"),
            "GET /api/v1/services: operation was removed",
        ),
        (
            lambda d: d["components"]["schemas"]["ApplicationOut"]["required"].remove("state"),
            "GET /api/v1/applications/{application_id} 200: "
            "response field 'state' is no longer always present",
        ),
    ],
)
def test_each_kind_of_break_is_named(change: Any, expected: str) -> None:
    base = _committed()
    head = copy.deepcopy(base)
    change(head)
    assert expected in breaking_changes(base, head)
