"""One application's trace, from the API request through the engine's steps to a department
system: the trace id the caller sent is in every task the API created, in the worker's logs
and in the W3C ``traceparent`` the tax simulator recorded in its ledger."""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.system.platform import Platform

ALICE = {"Authorization": "Bearer dev:alice"}
BODY: dict[str, Any] = {
    "service": "open-a-restaurant",
    "data": {
        "business_registration_number": "BR-2019-004211",
        "business_name": "Golden Dragon Kitchen Ltd",
        "parcel_id": "P-0042-117",
        "premises_address": "12 Harbour Street, Riverton",
        "seating": 40,
        "grease_trap": True,
        "staff_count": 8,
        "opening_date": "2099-03-01",
        "contact_email": "alice@example.org",
    },
}


def _tax_entry(platform: Platform, app_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        keys = platform.task_keys({app_id})  # random per task (ADR 0032)
        for entry in platform.ledger("tax"):
            if entry["key"] in keys:
                return entry
        time.sleep(0.3)
    raise AssertionError(f"the tax system never saw {app_id}\n{platform.logs()}")


def _worker_logged(platform: Platform, needle: str, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        logs = "".join(p.read_text() for p in platform.workdir.glob("worker-*.log"))
        if needle in logs or time.monotonic() >= deadline:
            return needle in logs
        time.sleep(0.2)


@pytest.mark.postgres
@pytest.mark.rabbitmq
@pytest.mark.timeout(300)
def test_one_trace_from_the_api_request_to_the_department_system(platform: Platform) -> None:
    trace_id = secrets.token_hex(16)
    platform.start_worker()
    created = httpx.post(
        f"{platform.api_url}/api/v1/applications",
        json=BODY,
        headers={
            **ALICE,
            "Idempotency-Key": f"trace-{trace_id[:12]}",
            "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
        },
        timeout=10,
    )
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]

    entry = _tax_entry(platform, app_id)
    assert entry["traceparent"].split("-")[1] == trace_id, entry

    url = make_url(platform.database_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
        stored = conn.execute(
            "SELECT DISTINCT traceparent FROM application_tasks WHERE application_id = %s",
            (app_id,),
        ).fetchall()
    # Written by the API inside the request's span: the request continued the caller's trace.
    assert {row[0].split("-")[1] for row in stored} == {trace_id}, "every step continues it"

    # The worker logs the step after the department answered (the ledger entry comes first):
    # wait for its line, with a deadline, rather than read the log at the ledger's moment.
    assert _worker_logged(platform, f'"trace_id": "{trace_id}"'), "the engine's step logs carry it"
