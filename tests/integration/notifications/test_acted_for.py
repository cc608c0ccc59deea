"""Alice, Golden Dragon's director, is told (portal inbox and e-mail) when someone else applies
for her business (issue 17, ADR 0041); she is not told about her own applications."""

from __future__ import annotations

from datetime import timedelta

import httpx

from civicloom.departments import CAPABILITY_GATEWAY
from civicloom.identity import load_personas, principal_for_persona
from civicloom.registries import GrantMandate, accept_mandate, grant_mandate
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.notifications.conftest import SmtpServer, notification_worker, relay_all
from tests.integration.test_applications_api import restaurant

ALICE_MAIL = "alice.chen@example.org"  # her directory address, not the form's contact_email


async def test_the_director_is_told_when_a_delegate_applies(
    container: Container, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    people = load_personas(container.settings.blueprints_dir)
    alice, bob = principal_for_persona(people["alice"]), principal_for_persona(people["bob"])
    own = await client.post("/api/v1/applications", json=restaurant(), headers=as_persona("alice"))
    assert own.status_code == 201, own.text
    clock = container.clock
    mandate = await grant_mandate(
        container.uow,
        container.get(CAPABILITY_GATEWAY),
        clock,
        alice,
        GrantMandate("BR-2019-004211", "bob", (), clock.now() + timedelta(days=30)),
    )
    await accept_mandate(container.uow(), clock, bob, mandate.id)
    bobs = await client.post(
        "/api/v1/applications",
        json=restaurant(contact_email="bob.martins@example.org"),
        headers=as_persona("bob"),
    )
    assert bobs.status_code == 201, bobs.text
    await relay_all(notification_worker(container, smtp.port))

    to_alice = sorted(str(m["Subject"]) for m in smtp.mailbox.to(ALICE_MAIL))
    assert to_alice == ["Someone applied for Golden Dragon Kitchen Ltd (BR-2019-004211)"]
    mail = smtp.mailbox.to(ALICE_MAIL)[0].get_body(preferencelist=("plain",))
    assert mail is not None
    assert bobs.json()["reference"] in mail.get_content()
    assert "under a mandate a director gave them" in mail.get_content()

    inbox = await client.get("/api/v1/me/inbox", headers=as_persona("alice"))
    assert inbox.status_code == 200, inbox.text
    subjects = [item["subject"] for item in inbox.json()]
    assert subjects.count("Someone applied for Golden Dragon Kitchen Ltd (BR-2019-004211)") == 1
    # Bob's own confirmation goes to Bob's contact address only
    assert [str(m["Subject"]) for m in smtp.mailbox.to("bob.martins@example.org")] == [
        f"We have received your application {bobs.json()['reference']}"
    ]
