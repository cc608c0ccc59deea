"""The walking skeleton: submit an application and read it back, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from civicloom.applications.tables import ApplicationRow
from civicloom.audit import fold_reads, verify_chain
from civicloom.audit.tables import AuditEntryRow
from civicloom.demo import RESTAURANT_ANSWERS
from civicloom.outbox.tables import OutboxRow
from civicloom.runtime import Container
from tests.conftest import as_persona

ALICE = as_persona("alice")
BOB = as_persona("bob")


def restaurant(**overrides: Any) -> dict[str, Any]:
    """A valid 'Open a restaurant' submission for Golden Dragon Kitchen."""
    return {"service": "open-a-restaurant", "data": {**RESTAURANT_ANSWERS, **overrides}}


async def counts(container: Container) -> tuple[int, int, int]:
    """Rows in applications, outbox and audit entries about applications."""
    async with container.uow() as uow:
        s = uow.session
        return (
            int(await s.scalar(select(func.count()).select_from(ApplicationRow)) or 0),
            int(await s.scalar(select(func.count()).select_from(OutboxRow)) or 0),
            int(
                await s.scalar(
                    select(func.count())
                    .select_from(AuditEntryRow)
                    .where(AuditEntryRow.subject_type == "application")
                )
                or 0
            ),
        )


async def test_submit_and_read_back(client: httpx.AsyncClient, container: Container) -> None:
    response = await client.post("/api/v1/applications", json=restaurant(), headers=ALICE)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["state"] == "in_progress"  # the engine started its steps
    assert created["reference"].startswith("RST-")
    assert created["blueprint_version"] == 5  # the demo blueprint's current version
    assert response.headers["location"] == f"/api/v1/applications/{created['id']}"

    read = await client.get(f"/api/v1/applications/{created['id']}", headers=ALICE)
    assert read.status_code == 200
    assert read.json()["data"]["business_registration_number"] == "BR-2019-004211"

    await fold_reads(container.uow())  # Alice's read joins the chain as the worker folds it
    async with container.uow() as uow:
        events = list(await uow.session.scalars(select(OutboxRow)))
        actions = list(
            await uow.session.scalars(
                select(AuditEntryRow.action).where(AuditEntryRow.subject_type == "application")
            )
        )
        chain = await verify_chain(uow.session)
    assert [e.topic for e in events] == ["civicloom.application.submitted"]
    assert events[0].payload["specversion"] == "1.0"
    assert events[0].payload["subject"] == created["id"]
    # the fee decided by local-admin's model, the submission, then Alice's read
    assert actions == ["decision.recorded", "application.submitted", "application.read"]
    assert chain.valid
    # the demo load registered four departments, published two blueprints, stored three
    # data-sharing agreements and loaded the seventeen staff personas (all but Alice, Bob and Wei;
    # Ruth and Gabriel approve change requests)
    # into the staff directory
    assert chain.entries == 29


async def test_others_cannot_read_an_application(client: httpx.AsyncClient) -> None:
    created = (await client.post("/api/v1/applications", json=restaurant(), headers=ALICE)).json()
    response = await client.get(f"/api/v1/applications/{created['id']}", headers=BOB)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/not-found"


async def test_unknown_id_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/applications/does-not-exist", headers=ALICE)
    assert response.status_code == 404


async def test_idempotent_replay_and_conflicting_reuse(
    client: httpx.AsyncClient, container: Container
) -> None:
    headers = {**ALICE, "Idempotency-Key": "submit-0001-abcdef"}
    first = await client.post("/api/v1/applications", json=restaurant(), headers=headers)
    replay = await client.post("/api/v1/applications", json=restaurant(), headers=headers)
    assert first.status_code == 201
    assert replay.status_code == 200
    assert replay.json()["id"] == first.json()["id"]

    other = await client.post("/api/v1/applications", json=restaurant(seating=90), headers=headers)
    assert other.status_code == 409
    assert other.json()["type"] == "/problems/conflict"
    assert await counts(container) == (1, 1, 2)  # fee decision + submission audited once


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        (restaurant(seating="forty"), "data.seating", "type"),
        (restaurant(parcel_id="parcel 7"), "data.parcel_id", "pattern"),
        (restaurant(contact_email=None), "data.contact_email", "type"),
        (restaurant(unexpected="x"), "data", "additionalProperties"),
        (restaurant(staff_count=-1), "data.staff_count", "minimum"),
        (
            {"service": "open-a-restaurant", "data": {"seating": 3}},
            "data.business_name",
            "required",
        ),
        ({"service": "open-a-restaurant"}, "data", "missing"),
        ({"service": "open-a-bakery", "data": {}}, "service", "known-service"),
        ({"service": "open-a-restaurant", "data": [1, 2]}, "data", "dict_type"),
    ],
)
async def test_invalid_input_names_field_and_rule_and_writes_nothing(
    client: httpx.AsyncClient, container: Container, body: dict[str, Any], field: str, rule: str
) -> None:
    response = await client.post("/api/v1/applications", json=body, headers=ALICE)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["type"] == "/problems/validation-error"
    assert {"field": field, "rule": rule} in [
        {"field": e["field"], "rule": e["rule"]} for e in problem["errors"]
    ]
    assert await counts(container) == (0, 0, 0)


async def test_malformed_json_is_400(client: httpx.AsyncClient, container: Container) -> None:
    response = await client.post(
        "/api/v1/applications",
        content=b'{"service": "open-a-restaurant", "data": {',
        headers={**ALICE, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/malformed-json"
    assert await counts(container) == (0, 0, 0)


async def test_oversize_body_is_413(client: httpx.AsyncClient, container: Container) -> None:
    body = restaurant(premises_address="x" * 100_000)
    response = await client.post("/api/v1/applications", json=body, headers=ALICE)
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/payload-too-large"
    assert await counts(container) == (0, 0, 0)


async def test_chunked_oversize_body_is_413(
    client: httpx.AsyncClient, container: Container
) -> None:
    async def chunks() -> Any:
        for _ in range(100):
            yield b"x" * 1024

    response = await client.post(
        "/api/v1/applications",
        content=chunks(),
        headers={**ALICE, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert await counts(container) == (0, 0, 0)


@pytest.mark.parametrize("token", [None, "Bearer nonsense", "Bearer dev:nobody", "Basic abc"])
async def test_unauthenticated_is_401(
    client: httpx.AsyncClient, container: Container, token: str | None
) -> None:
    headers = {"Authorization": token} if token else {}
    response = await client.post("/api/v1/applications", json=restaurant(), headers=headers)
    assert response.status_code == 401
    assert response.json()["type"] == "/problems/unauthenticated"
    assert await counts(container) == (0, 0, 0)


async def test_services_are_listed(client: httpx.AsyncClient) -> None:
    services = (await client.get("/api/v1/services")).json()
    assert {s["id"] for s in services} == {"open-a-restaurant", "change-of-business-address"}
    restaurant_service = next(s for s in services if s["id"] == "open-a-restaurant")
    assert restaurant_service["title"]["zh-Hans"] == "开设餐馆"
