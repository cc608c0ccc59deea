"""A blueprint's ``notify`` step sends its template: the change-of-business-address confirmation
reaches a real SMTP server, in the applicant's language."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from civicloom.applications import StepRunner
from civicloom.departments import CapabilityCall, InProcessGateway
from civicloom.notifications.tables import DeliveryRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.notifications.conftest import SmtpServer, notification_worker, relay_all

ALICE = as_persona("alice")
ALICE_EMAIL = "alice.chen@example.org"  # blueprints/demo/personas.yaml


def departments() -> InProcessGateway:
    """The four department systems the change of address calls, answering at once."""

    async def zoning(call: CapabilityCall) -> dict[str, Any]:
        return {"allowed": True, "zone": "commercial"}

    async def updated(call: CapabilityCall) -> dict[str, Any]:
        return {"status": "updated"}

    return InProcessGateway(
        {
            "local-admin.zoning_check": zoning,
            "local-admin.update_business_address": updated,
            "tax.update_address": updated,
            "labour.update_employer_address": updated,
        }
    )


async def move_business(client: httpx.AsyncClient, container: Container) -> str:
    """Apply to change the business address and let the engine run every step."""
    response = await client.post(
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
        headers=ALICE,
    )
    assert response.status_code == 201, response.text
    runner = StepRunner(container, departments())
    for _ in range(20):
        if await runner.run_once("test-worker") == 0:
            break
    status = await client.get(f"/api/v1/applications/{response.json()['id']}", headers=ALICE)
    assert status.json()["state"] == "approved", status.text
    return str(response.json()["id"])


async def test_the_change_of_address_confirmation_reaches_the_smtp_server(
    container: Container, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    app_id = await move_business(client, container)
    await relay_all(notification_worker(container, smtp.port))

    confirmations = [
        m for m in smtp.mailbox.to(ALICE_EMAIL) if "business address is now" in str(m["Subject"])
    ]
    assert len(confirmations) == 1
    mail = confirmations[0]
    assert mail["Subject"] == "Your business address is now 7 Lantern Quay, Riverton"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    assert "from 2027-02-01. You do not need to tell them yourself." in body.get_content()
    async with container.uow() as uow:
        templates = set(
            await uow.session.scalars(
                select(DeliveryRow.template).where(DeliveryRow.application_id == app_id)
            )
        )
    assert "change-of-business-address/completed" in templates


async def test_the_confirmation_is_in_the_applicants_language(
    container: Container, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    chosen = await client.put(
        "/api/v1/me/notification-preferences",
        json={"email": "alice.chen@example.org", "locale": "zh-Hans", "channels": ["email"]},
        headers=ALICE,
    )
    assert chosen.status_code == 200, chosen.text
    await move_business(client, container)
    await relay_all(notification_worker(container, smtp.port))

    subjects = [str(m["Subject"]) for m in smtp.mailbox.to(ALICE_EMAIL)]
    assert "您的企业地址已变更为 7 Lantern Quay, Riverton" in subjects
