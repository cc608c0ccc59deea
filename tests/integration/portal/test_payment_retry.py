"""The portal's "Pay" and "Try again" over the real app and database, with a fake provider.

After a declined card the citizen must be able to pay again (the fixed key
``portal-payment:{id}`` made every later click answer the declined payment, so the case waited
forever); a second click while a payment is open goes to the same payment; the new attempt
supersedes the old one, so a late success of the declined one cannot pay the fee twice.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import func, select

from civicloom.app import create_app
from civicloom.applications import SubmitApplication, submit_application
from civicloom.applications.tables import TimelineRow
from civicloom.catalogue import publish_blueprint
from civicloom.payments import PAYMENT_PROVIDER
from civicloom.payments.domain import (
    ProviderIntent,
    ProviderRefund,
    WebhookEvent,
    WebhookRejected,
)
from civicloom.payments.tables import PaymentRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.payments.conftest import ALICE as ALICE_PRINCIPAL
from tests.integration.payments.conftest import pay_blueprint
from tests.wiring import swap

ALICE = {**as_persona("alice"), "Accept": "text/html"}
FAKE_SECRET = "fake-provider-secret"


@dataclass
class FakeProvider:
    """An in-memory payment provider: intents by key, webhooks signed by a shared header."""

    name: str = "fake"
    intents: dict[str, ProviderIntent] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    async def create_intent(
        self,
        idempotency_key: str,
        amount_minor: int,
        currency: str,
        description: str,
        return_url: str,
        webhook_url: str,
    ) -> ProviderIntent:
        self.calls.append(idempotency_key)
        if idempotency_key not in self.intents:
            ref = f"fk_{len(self.intents) + 1}"
            self.intents[idempotency_key] = ProviderIntent(ref, f"https://psp.test/pay/{ref}")
        return self.intents[idempotency_key]

    async def refund(
        self, idempotency_key: str, provider_reference: str, amount_minor: int
    ) -> ProviderRefund:
        return ProviderRefund(f"fr_{idempotency_key}", "succeeded")

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        if headers.get("x-fake-secret") != FAKE_SECRET:
            raise WebhookRejected("bad secret")
        data = json.loads(body)
        return WebhookEvent(
            data["id"], data["type"], data["intent"], data["amount_minor"], data["currency"]
        )


@pytest.fixture
async def portal(container: Container) -> AsyncIterator[tuple[httpx.AsyncClient, FakeProvider]]:
    """The app with the fake provider and the pay-test service (its only step: the fee)."""
    async with container.uow() as uow:
        await publish_blueprint(
            uow.session, pay_blueprint(), container.clock.now(), actor="test:setup"
        )
        await uow.commit()
    app = create_app(container)
    fake = FakeProvider()
    swap(app, PAYMENT_PROVIDER, fake)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, fake


async def webhook(client: httpx.AsyncClient, intent: str, outcome: str, n: int) -> None:
    body = {
        "id": f"evt_{n}",
        "type": f"payment.{outcome}",
        "intent": intent,
        "amount_minor": 40000,
        "currency": "EUR",
    }
    answer = await client.post(
        "/api/v1/payments/webhooks/fake", json=body, headers={"X-Fake-Secret": FAKE_SECRET}
    )
    assert answer.status_code == 200, answer.text


def hosted_page(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text[:2000]
    target = response.headers["location"]
    assert target.startswith("https://psp.test/pay/"), target
    return target.rsplit("/", 1)[1]


async def test_after_a_declined_card_try_again_pays_the_fee(
    container: Container, portal: tuple[httpx.AsyncClient, FakeProvider]
) -> None:
    client, fake = portal
    view, _ = await submit_application(
        container.uow(),
        container.clock,
        ALICE_PRINCIPAL,
        SubmitApplication(service_id="pay-test", data={"seating": 40}),
    )
    page_url = f"/applications/{view.id}"
    first_page = await client.get(page_url, headers=ALICE)
    assert "Pay €400.00" in first_page.text
    assert 'id="payment-retry"' not in first_page.text

    first = hosted_page(await client.post(f"{page_url}/payment", headers=ALICE))
    again = hosted_page(await client.post(f"{page_url}/payment", headers=ALICE))
    assert again == first  # a second click while it is open: the same payment

    await webhook(client, first, "declined", 1)
    declined_page = await client.get(f"{page_url}?paid=1", headers=ALICE)
    assert "Your payment was declined. You have not been charged." in declined_page.text
    assert 'id="payment-retry"' in declined_page.text
    assert "Thank you. We will update this page" not in declined_page.text

    second = hosted_page(await client.post(f"{page_url}/payment", headers=ALICE))
    assert second != first  # a new attempt at the provider
    await webhook(client, second, "succeeded", 2)
    # The declined intent's late "success" (a provider glitch) changes nothing.
    await webhook(client, first, "succeeded", 3)

    paid_page = await client.get(page_url, headers=ALICE)
    assert 'id="payment-done"' in paid_page.text
    assert 'id="payment-retry"' not in paid_page.text
    async with container.uow() as uow:
        states = list(
            await uow.session.scalars(
                select(PaymentRow.state)
                .where(PaymentRow.application_id == view.id)
                .order_by(PaymentRow.created_at, PaymentRow.idempotency_key)
            )
        )
        received = await uow.session.scalar(
            select(func.count())
            .select_from(TimelineRow)
            .where(TimelineRow.application_id == view.id, TimelineRow.event == "payment.received")
        )
    assert states == ["declined", "succeeded"]
    assert received == 1
    assert len(fake.intents) == 2
    status = await client.get(f"/api/v1/applications/{view.id}", headers=as_persona("alice"))
    assert status.json()["state"] == "approved"


async def test_a_stranger_cannot_start_or_retry_someone_elses_payment(
    container: Container, portal: tuple[httpx.AsyncClient, FakeProvider]
) -> None:
    client, fake = portal
    view, _ = await submit_application(
        container.uow(),
        container.clock,
        ALICE_PRINCIPAL,
        SubmitApplication(service_id="pay-test", data={"seating": 40}),
    )
    stranger = await client.post(
        f"/applications/{view.id}/payment", headers={**as_persona("bob"), "Accept": "text/html"}
    )
    assert stranger.status_code == 404
    assert fake.calls == []
    async with container.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(PaymentRow)) == 0
