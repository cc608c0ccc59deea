"""Open a restaurant, end to end, through all four connectors to real department systems.

Alice applies over the public API; a worker runs the steps against the simulators (SOAP,
REST, signed callback, AMQP); the local-admin officer decides; the case waits for payment.
Change of business address then runs on the same capabilities with no new connector code.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from civicloom.demo import RESTAURANT_ANSWERS
from tests.system.platform import Platform

ALICE = {"Authorization": "Bearer dev:alice"}
OLIVIA = {"Authorization": "Bearer dev:olivia"}


def _status(platform: Platform, app_id: str) -> dict[str, Any]:
    response = httpx.get(
        f"{platform.api_url}/api/v1/applications/{app_id}/status", headers=ALICE, timeout=10
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def _wait(platform: Platform, app_id: str, predicate: Any, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = _status(platform, app_id)
        if predicate(status):
            return status
        time.sleep(0.3)
    raise AssertionError(f"timed out; last status: {status}\n{platform.logs()}")


def _steps(status: dict[str, Any]) -> dict[str, str]:
    return {s["step"]: s["state"] for s in status["steps"]}


@pytest.mark.timeout(300)
def test_open_a_restaurant_through_all_four_departments(platform: Platform) -> None:
    platform.start_worker()
    body = {
        "service": "open-a-restaurant",
        "data": {**RESTAURANT_ANSWERS, "premises_address": "12 Harbour Street, Riverton"},
    }
    created = httpx.post(
        f"{platform.api_url}/api/v1/applications",
        json=body,
        headers={**ALICE, "Idempotency-Key": "e2e-restaurant-0001"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]

    status = _wait(
        platform, app_id, lambda s: _steps(s).get("licensing_review") == "awaiting_officer"
    )
    steps = _steps(status)
    for department_step in ("business", "zoning", "tax", "screening", "employer"):
        assert steps[department_step] == "completed", department_step
    assert steps["inspection"] == "skipped"  # 40 seats with a grease trap: no inspection
    assert steps["labour_review"] == "skipped"  # 8 staff: under the review threshold
    assert status["deadline_at"] is not None

    # Every department system applied its request exactly once, under this application's keys.
    keys = platform.task_keys({app_id})
    for sim, capability in (
        ("tax", "tax.clearance_check"),
        ("environment", "environment.screening"),
        ("labour", "labour.register_employer"),
    ):
        entries = [
            e for e in platform.ledger(sim) if e["capability"] == capability and e["key"] in keys
        ]
        assert [e["applied"] for e in entries] == [1], sim
    tax_entry = next(e for e in platform.ledger("tax") if e["key"] in keys)
    assert tax_entry["traceparent"], "the W3C traceparent reached the tax system"

    queue = httpx.get(f"{platform.api_url}/api/v1/tasks", headers=OLIVIA, timeout=10).json()
    task = next(t for t in queue if t["application_id"] == app_id)
    assert task["step"] == "licensing_review"
    decided = httpx.post(
        f"{platform.api_url}/api/v1/tasks/{task['id']}/decision",
        json={"decision": "approve"},
        headers=OLIVIA,
        timeout=10,
    )
    assert decided.status_code == 200, decided.text

    status = _wait(platform, app_id, lambda s: _steps(s).get("payment") == "awaiting_external")
    assert any(
        e["event"] == "payment.requested" and "400" in e["message"] for e in status["timeline"]
    ), status["timeline"]


@pytest.mark.timeout(300)
def test_change_of_business_address_reuses_the_same_capabilities(platform: Platform) -> None:
    # Golden Dragon became an employer when its restaurant opened (an earlier case).
    registered = httpx.post(
        f"{platform.sims['labour'].url}/api/v1/employers",
        json={
            "registration_number": "BR-2019-004211",
            "employer_name": "Golden Dragon Kitchen Ltd",
            "staff_count": 8,
        },
        headers={"Idempotency-Key": "earlier-restaurant-case:employer"},
        timeout=10,
    )
    assert registered.status_code == 200, registered.text
    platform.start_worker()
    body = {
        "service": "change-of-business-address",
        "data": {
            "business_registration_number": "BR-2019-004211",
            "new_parcel_id": "P-0042-117",
            "new_address": "88 Market Square, Riverton",
            "effective_date": "2027-04-01",
        },
    }
    created = httpx.post(
        f"{platform.api_url}/api/v1/applications", json=body, headers=ALICE, timeout=10
    )
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    status = _wait(platform, app_id, lambda s: s["application"]["state"] != "in_progress")
    assert status["application"]["state"] == "approved", status
    assert set(_steps(status).values()) == {"completed"}
    assert _steps(status).keys() >= {"zoning", "business_address", "tax_address", "labour_address"}
    keys = platform.task_keys({app_id})
    for sim, capability in (
        ("tax", "tax.address_change"),
        ("labour", "labour.update_employer_address"),
        ("local_admin", "local_admin.update_address"),
    ):
        entries = [
            e for e in platform.ledger(sim) if e["capability"] == capability and e["key"] in keys
        ]
        assert [e["applied"] for e in entries] == [1], (sim, capability)
