"""Data protection in logs (ADR 0035): a whole journey — API submit, the case engine working
every department step, officers approving — and a forced 500 leave no name, e-mail, phone
number, tax id or credential in what the process logs (stderr and every stdlib record).

The personal data are written by hand from blueprints/demo/personas.yaml, the simulators' seed
(simulators/tax/seed/taxpayers.json) and the journey's own form answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import Request
from sqlalchemy import select

from civicloom.app import create_app
from civicloom.applications import StepRunner
from civicloom.applications.tables import ApplicationRow, TaskRow
from civicloom.departments import CapabilityCall, InProcessGateway
from civicloom.observability import configure_logging
from civicloom.runtime import Container
from civicloom.web import public_route
from tests.conftest import as_persona
from tests.integration.test_applications_api import restaurant

PERSONAL_DATA = [
    # blueprints/demo/personas.yaml
    "Alice Chen",
    "alice.chen@example.org",
    "+4915550100",
    "Bob Martins",
    "bob.martins@example.org",
    "+4915550101",
    "Olivia Grant",
    "olivia.grant@local-admin.example.gov",
    "Lars Nilsson",
    "lars.nilsson@labour.example.gov",
    # simulators/tax/seed/taxpayers.json
    "TIN-2019-004211",
    # the journey's answers
    "alice@example.org",
    "12 Harbour Street",
    "Golden Dragon Kitchen",
    "7 Lantern Quay",
]
CREDENTIAL = "cl_forced500-credential-that-must-never-be-logged"
OFFICERS = {"local-admin": "olivia", "labour": "lars", "environment": "elena", "tax": "tariq"}


def departments() -> InProcessGateway:
    """The departments answer with personal data, as the simulators do."""

    def answer(output: dict[str, Any]) -> Any:
        async def call(_: CapabilityCall) -> dict[str, Any]:
            return output

        return call

    return InProcessGateway(
        {
            "local-admin.business_lookup": answer(
                {
                    "name": "Golden Dragon Kitchen Ltd",
                    "status": "active",
                    "director_name": "Alice Chen",
                    "registered_address": "12 Harbour Street, Riverton",
                }
            ),
            "local-admin.zoning_check": answer({"zone": "commercial", "allowed": True}),
            "tax.clearance_check": answer({"status": "cleared", "tax_id": "TIN-2019-004211"}),
            "environment.screening": answer({"outcome": "cleared"}),
            "labour.register_employer": answer({"status": "registered", "employer_id": "EMP-1"}),
            "local-admin.register_activity": answer({"status": "registered"}),
            "local-admin.update_business_address": answer({"status": "updated"}),
            "tax.update_address": answer({"status": "updated", "tax_id": "TIN-2019-004211"}),
            "labour.update_employer_address": answer({"status": "updated"}),
        }
    )


@pytest.fixture
async def debug_logging(container: Container) -> AsyncIterator[None]:
    """Log everything (DEBUG) while the journey runs, as an operator chasing a bug would."""
    configure_logging("DEBUG", json=True)
    yield
    configure_logging(container.settings.log_level, container.settings.log_json)


async def _drain(runner: StepRunner) -> None:
    for _ in range(60):
        if not await runner.run_once("log-test"):
            return
    raise AssertionError("the engine did not settle")


async def _awaiting_officer(container: Container, app_id: str) -> list[TaskRow]:
    async with container.uow() as uow:
        rows = await uow.session.scalars(
            select(TaskRow).where(
                TaskRow.application_id == app_id, TaskRow.state == "awaiting_officer"
            )
        )
        return list(rows)


async def test_a_whole_journey_and_a_500_log_no_personal_data(
    container: Container,
    debug_logging: None,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    app = create_app(container)

    @app.post("/forced-500", dependencies=[public_route()])
    async def forced(request: Request) -> None:
        body = await request.body()  # a local holding the request body
        authorization = request.headers["authorization"]  # and one holding the credential
        raise RuntimeError(f"forced failure for {authorization} with {body!r}")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        # Submit as Alice (with a seating count that needs the inspection and labour review).
        created = await client.post(
            "/api/v1/applications", json=restaurant(), headers=as_persona("alice")
        )
        assert created.status_code == 201, created.text
        app_id = created.json()["id"]
        # A refused body with personal data in it (validation errors are logged nowhere).
        refused = await client.post(
            "/api/v1/applications",
            json=restaurant(director_name="Bob Martins", contact_email=12),
            headers=as_persona("bob"),
        )
        assert refused.status_code == 422

        runner = StepRunner(container, departments())
        approvals = 0
        for _ in range(5):
            await _drain(runner)
            waiting = await _awaiting_officer(container, app_id)
            if not waiting:
                break
            for task in waiting:
                decided = await client.post(
                    f"/api/v1/tasks/{task.id}/decision",
                    json={"decision": "approve"},
                    headers=as_persona(OFFICERS[task.department or ""]),
                )
                assert decided.status_code == 200, decided.text
                approvals += 1
        assert approvals >= 1
        async with container.uow() as uow:
            application = await uow.session.get(ApplicationRow, app_id)
        assert application is not None
        # Every officer approved: the case moved on to the fee (or beyond).
        # The licensing officer approved: the case now waits for the fee.
        assert (application.state, approvals) == ("in_progress", 1)
        async with container.uow() as uow:
            review = await uow.session.scalar(
                select(TaskRow.state).where(
                    TaskRow.application_id == app_id, TaskRow.step_id == "licensing_review"
                )
            )
        assert review == "completed"

        # A second journey to the end: the change of business address is approved.
        moved = await client.post(
            "/api/v1/applications",
            json={
                "service": "change-of-business-address",
                "data": {
                    "business_registration_number": "BR-2019-004211",
                    "new_parcel_id": "P-0042-117",
                    "new_address": "7 Lantern Quay, Riverton",
                    "effective_date": "2027-02-01",
                },
            },
            headers=as_persona("alice"),
        )
        assert moved.status_code == 201, moved.text
        await _drain(runner)
        status = await client.get(
            f"/api/v1/applications/{moved.json()['id']}", headers=as_persona("alice")
        )
        assert status.json()["state"] == "approved", status.text

        crashed = await client.post(
            "/forced-500",
            content=b'{"name": "Alice Chen", "phone": "+4915550100"}',
            headers={"Authorization": f"Bearer {CREDENTIAL}", "Content-Type": "application/json"},
        )
        assert crashed.status_code == 500

    captured = capfd.readouterr()
    logged = "\n".join(
        [captured.err, captured.out, *(record.getMessage() for record in caplog.records)]
    )
    # The crash itself was logged, with where it happened …
    assert '"unhandled_error"' in logged
    assert "builtins.RuntimeError" in logged
    assert "test_logs_hold_no_personal_data.py" in logged
    # … but no credential, no body and nobody's personal data.
    assert CREDENTIAL not in logged
    assert "forced failure" not in logged
    leaked = [line for line in logged.splitlines() if any(v in line for v in PERSONAL_DATA)]
    assert leaked == []
