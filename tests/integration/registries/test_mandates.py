"""Who acts for whom (issue 17, ADR 0041): the business register and delegated mandates decide.

Bob has no business. Alice is the director of Golden Dragon Kitchen Ltd (BR-2019-004211) in
the Local Administration's business register. Every refusal writes nothing (no application,
no outbox event, no audit entry about an application) and calls no department beyond the one
read of the business register.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from civicloom.applications.tables import ApplicationRow
from civicloom.audit.tables import AuditEntryRow
from civicloom.demo import RESTAURANT_ANSWERS
from civicloom.departments import CAPABILITY_GATEWAY, CapabilityCall, TransientError
from civicloom.identity import ScopedPrincipal, load_personas, principal_for_persona
from civicloom.kernel import NotFound, Principal, ValidationFailed
from civicloom.outbox.tables import OutboxRow
from civicloom.registries import (
    GrantMandate,
    accept_mandate,
    grant_mandate,
    mandates_of_person,
    revoke_mandate,
)
from civicloom.registries.tables import DelegatedMandateRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.registers import SeedRegister
from tests.wiring import swap

GOLDEN_DRAGON = "BR-2019-004211"


def restaurant(**overrides: Any) -> dict[str, Any]:
    # Bob files for Golden Dragon: the contact is his address, not Alice's
    data = {**RESTAURANT_ANSWERS, "contact_email": "bob.martins@example.org", **overrides}
    return {"service": "open-a-restaurant", "data": data}


MOVE = {
    "service": "change-of-business-address",
    "data": {
        "business_registration_number": GOLDEN_DRAGON,
        "new_parcel_id": "P-0042-117",
        "new_address": "1 Stolen Street, Riverton",
        "effective_date": "2027-01-15",
    },
}


def person(container: Container, name: str) -> Principal:
    return principal_for_persona(load_personas(container.settings.blueprints_dir)[name])


def register(container: Container) -> SeedRegister:
    gateway = container.get(CAPABILITY_GATEWAY)
    assert isinstance(gateway, SeedRegister)
    return gateway


async def footprint(container: Container) -> tuple[int, int, int, int]:
    """Applications, outbox events, audit entries about applications, mandates."""
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
            int(await s.scalar(select(func.count()).select_from(DelegatedMandateRow)) or 0),
        )


def refusal(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [{"field": e["field"], "rule": e["rule"]} for e in response.json()["errors"]]


def api(headers: dict[str, str]) -> dict[str, str]:
    """A signed-in person's headers for the API (problem+json answers, not pages)."""
    return {k: v for k, v in headers.items() if k != "Accept"}


async def test_bob_cannot_open_a_restaurant_for_golden_dragon(
    client: httpx.AsyncClient, container: Container, bob: dict[str, str]
) -> None:
    register(container).calls.clear()  # an OIDC sign-in asked the register about his claim
    before = await footprint(container)
    response = await client.post("/api/v1/applications", json=restaurant(), headers=api(bob))
    assert refusal(response) == [
        {"field": "data.business_registration_number", "rule": "may-act-for"}
    ]
    assert await footprint(container) == before
    # the one department call is the read of the business register that refused him
    assert [c.capability for c in register(container).calls] == ["local-admin.business_lookup"]


async def test_bob_cannot_move_golden_dragons_registered_address(
    client: httpx.AsyncClient, container: Container, bob: dict[str, str]
) -> None:
    register(container).calls.clear()  # an OIDC sign-in asked the register about his claim
    before = await footprint(container)
    response = await client.post("/api/v1/applications", json=MOVE, headers=api(bob))
    assert refusal(response) == [
        {"field": "data.business_registration_number", "rule": "may-act-for"}
    ]
    assert await footprint(container) == before  # no outbox event: no department is asked
    assert [c.capability for c in register(container).calls] == ["local-admin.business_lookup"]


async def test_an_unknown_business_and_a_register_that_is_down_are_refused(
    client: httpx.AsyncClient, container: Container
) -> None:
    before = await footprint(container)
    unknown = restaurant(business_registration_number="BR-2099-000001")
    response = await client.post("/api/v1/applications", json=unknown, headers=as_persona("alice"))
    assert refusal(response) == [
        {"field": "data.business_registration_number", "rule": "registered-business"}
    ]

    class Down:
        async def call(self, call: CapabilityCall) -> Any:
            raise TransientError("local-admin SOAP fault Server.Unavailable")

    from civicloom.app import create_app

    app = create_app(container)
    swap(app, CAPABILITY_GATEWAY, Down())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as down:
        response = await down.post(
            "/api/v1/applications", json=restaurant(), headers=as_persona("alice")
        )
    assert refusal(response) == [
        {"field": "data.business_registration_number", "rule": "register-unavailable"}
    ]
    assert await footprint(container) == before


async def test_the_business_data_and_the_holder_come_from_the_register(
    client: httpx.AsyncClient, container: Container, alice: dict[str, str]
) -> None:
    typed = restaurant(business_name="Anything Bob Likes Ltd", director_name="Bob Martins")
    response = await client.post("/api/v1/applications", json=typed, headers=api(alice))
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["business_name"] == "Golden Dragon Kitchen Ltd"
    assert data["director_name"] == "Alice Chen"
    async with container.uow() as uow:
        details = await uow.session.scalar(
            select(AuditEntryRow.details).where(
                AuditEntryRow.subject_id == response.json()["id"],
                AuditEntryRow.action == "application.submitted",
            )
        )
    assert details is not None
    acting = details["acting_for"]
    assert (acting["capacity"], acting["registration_number"], acting["register"]) == (
        "director",
        "BR-2019-004211",
        "local-admin.business_lookup",
    )
    assert (acting["agreement"], acting["register_name"]) == (
        "DSA-2025-101",
        "Golden Dragon Kitchen Ltd",
    )


async def test_a_delegate_acts_for_golden_dragon_until_alice_revokes(
    client: httpx.AsyncClient, container: Container
) -> None:
    alice, bob = person(container, "alice"), person(container, "bob")
    gateway, clock = register(container), container.clock
    until = clock.now() + timedelta(days=90)
    mandate = await grant_mandate(
        container.uow,
        gateway,
        clock,
        alice,
        GrantMandate(GOLDEN_DRAGON, "bob", ("open-a-restaurant",), until),
    )
    assert mandate.business_name == "Golden Dragon Kitchen Ltd"

    # granted but not accepted: Bob still may not act
    response = await client.post(
        "/api/v1/applications", json=restaurant(), headers=as_persona("bob")
    )
    assert refusal(response) == [
        {"field": "data.business_registration_number", "rule": "may-act-for"}
    ]

    await accept_mandate(container.uow(), clock, bob, mandate.id)
    response = await client.post(
        "/api/v1/applications", json=restaurant(), headers=as_persona("bob")
    )
    assert response.status_code == 201, response.text
    async with container.uow() as uow:
        details = await uow.session.scalar(
            select(AuditEntryRow.details).where(
                AuditEntryRow.subject_id == response.json()["id"],
                AuditEntryRow.action == "application.submitted",
            )
        )
    assert details is not None
    assert (details["acting_for"]["capacity"], details["acting_for"]["mandate"]) == (
        "delegate",
        mandate.id,
    )

    # the mandate covers opening a restaurant, not moving the company
    response = await client.post("/api/v1/applications", json=MOVE, headers=as_persona("bob"))
    assert refusal(response) == [
        {"field": "data.business_registration_number", "rule": "may-act-for"}
    ]

    # both see it; then Alice revokes and Bob loses the right at once
    granted, _ = await mandates_of_person(container.uow(), alice)
    _, held = await mandates_of_person(container.uow(), bob)
    assert [m.id for m in granted] == [mandate.id]
    assert [m.id for m in held] == [mandate.id]
    await revoke_mandate(container.uow(), clock, alice, mandate.id)
    before = await footprint(container)
    response = await client.post(
        "/api/v1/applications",
        json=restaurant(opening_date="2099-04-01"),
        headers=as_persona("bob"),
    )
    assert refusal(response) == [
        {"field": "data.business_registration_number", "rule": "may-act-for"}
    ]
    assert await footprint(container) == before

    async with container.uow() as uow:
        actions = list(
            await uow.session.scalars(
                select(AuditEntryRow.action)
                .where(AuditEntryRow.subject_type == "mandate")
                .order_by(AuditEntryRow.seq)
            )
        )
    assert actions == ["mandate.granted", "mandate.accepted", "mandate.revoked"]


async def test_only_a_director_delegates_and_only_the_parties_accept_or_revoke(
    container: Container,
) -> None:
    alice, bob = person(container, "alice"), person(container, "bob")
    carol = ScopedPrincipal(
        subject="carol", display_name="Carol Jones", roles=frozenset({"citizen"})
    )
    gateway, clock = register(container), container.clock
    until = clock.now() + timedelta(days=30)
    before = await footprint(container)
    with pytest.raises(ValidationFailed) as refused:
        await grant_mandate(
            container.uow, gateway, clock, bob, GrantMandate(GOLDEN_DRAGON, "bob", (), until)
        )
    assert [(e.field, e.rule) for e in refused.value.errors] == [
        ("data.business_registration_number", "may-act-for")
    ]
    assert await footprint(container) == before

    mandate = await grant_mandate(
        container.uow, gateway, clock, alice, GrantMandate(GOLDEN_DRAGON, "bob", (), until)
    )
    with pytest.raises(NotFound):
        await accept_mandate(container.uow(), clock, carol, mandate.id)
    with pytest.raises(NotFound):
        await revoke_mandate(container.uow(), clock, carol, mandate.id)
    revoked = await revoke_mandate(container.uow(), clock, bob, mandate.id)  # the delegate may
    assert revoked.revoked_at is not None
    with pytest.raises(NotFound):
        await accept_mandate(container.uow(), clock, bob, mandate.id)  # too late


async def test_a_revoked_delegate_can_no_longer_withdraw_or_pay(
    client: httpx.AsyncClient, container: Container
) -> None:
    alice, bob = person(container, "alice"), person(container, "bob")
    gateway, clock = register(container), container.clock
    mandate = await grant_mandate(
        container.uow,
        gateway,
        clock,
        alice,
        GrantMandate(GOLDEN_DRAGON, "bob", (), clock.now() + timedelta(days=30)),
    )
    await accept_mandate(container.uow(), clock, bob, mandate.id)
    created = await client.post(
        "/api/v1/applications", json=restaurant(), headers=as_persona("bob")
    )
    assert created.status_code == 201, created.text
    application_id = created.json()["id"]
    await revoke_mandate(container.uow(), clock, alice, mandate.id)
    before = await footprint(container)

    html = {**as_persona("bob"), "Accept": "text/html"}
    withdraw = await client.post(
        f"/applications/{application_id}/withdraw", data={"confirm": "yes"}, headers=html
    )
    assert withdraw.status_code == 403
    answer = await client.post(
        f"/applications/{application_id}/information", data={"answer": "here"}, headers=html
    )
    assert answer.status_code == 403
    pay = await client.post(
        f"/api/v1/applications/{application_id}/payments",
        json={"return_url": "/applications/back"},
        headers={**as_persona("bob"), "Idempotency-Key": "pay-after-revocation"},
    )
    assert pay.status_code == 403, pay.text
    assert pay.json()["detail"] == "you may no longer act for this business"
    assert await footprint(container) == before
    async with container.uow() as uow:
        state = await uow.session.scalar(
            select(ApplicationRow.state).where(ApplicationRow.id == application_id)
        )
    assert state == "in_progress"
