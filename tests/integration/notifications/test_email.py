"""Notifications over a real SMTP server: each event in the applicant's language, outages."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select

from civicloom.applications.tables import ApplicationRow
from civicloom.departments import CAPABILITY_GATEWAY
from civicloom.kernel import FixedClock
from civicloom.notifications import (
    ProviderLimiter,
    SmtpChannel,
    TemplateLibrary,
    deliver,
    plan_notifications,
)
from civicloom.notifications.ports import Channel
from civicloom.notifications.tables import DeliveryRow
from civicloom.outbox import CloudEvent, EventType, enqueue_event
from civicloom.outbox.tables import OutboxRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.notifications.conftest import SmtpServer, notification_worker, relay_all
from tests.integration.test_applications_api import restaurant
from tests.registers import SeedRegister

ALICE = as_persona("alice")
CONTACT = "alice@example.org"


async def apply(client: httpx.AsyncClient, **overrides: object) -> dict[str, str]:
    response = await client.post(
        "/api/v1/applications", json=restaurant(**overrides), headers=ALICE
    )
    assert response.status_code == 201, response.text
    return {"id": response.json()["id"], "reference": response.json()["reference"]}


async def emit(container: Container, app: dict[str, str], kind: EventType, **data: object) -> None:
    """Write an event as the engine, payments or documents module would."""
    async with container.uow() as uow:
        await enqueue_event(
            uow.session,
            CloudEvent(
                type=kind,
                source="urn:test",
                subject=app["id"],
                time=container.clock.now(),
                data={"application_id": app["id"], "reference": app["reference"], **data},
            ),
            key=f"test:{kind}:{app['id']}",
        )
        await uow.commit()


async def test_each_event_arrives_in_the_applicants_language(
    container: Container, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    chosen = await client.put(
        "/api/v1/me/notification-preferences",
        json={"email": "alice.chen@example.org", "locale": "zh-Hans", "channels": ["email"]},
        headers=ALICE,
    )
    assert chosen.status_code == 200, chosen.text
    # the business name comes from the register (ADR 0041): a register answer with markup in
    # it must come out escaped in HTML mail and as is in the plain text
    register = container.get(CAPABILITY_GATEWAY)
    assert isinstance(register, SeedRegister)
    register.businesses["BR-2019-004211"]["name"] = "Golden <b>Dragon</b> Kitchen"
    app = await apply(client, business_name="Golden Dragon Kitchen Ltd")
    for kind, data in (
        (EventType.INFORMATION_REQUESTED, {"task_id": "t", "department": "environment"}),
        (EventType.PAYMENT_REQUESTED, {"amount": 400, "currency": "EUR"}),
        (
            EventType.PAYMENT_RECEIVED,
            {"amount": "400.00", "currency": "EUR", "payment_id": "p"},
        ),
        (EventType.APPLICATION_APPROVED, {"reason": None}),
        (EventType.APPLICATION_REJECTED, {"reason": "zoning"}),
        (
            EventType.LICENCE_ISSUED,
            {"licence_number": "LIC-1", "document_url": "http://x/doc"},
        ),
    ):
        await emit(container, app, kind, **data)
    worker = notification_worker(container, smtp.port)
    await relay_all(worker)

    received = smtp.mailbox.to(CONTACT)
    subjects = sorted(str(m["Subject"]) for m in received)
    ref = app["reference"]
    assert subjects == sorted(
        [
            f"我们已收到您的申请 {ref}",
            f"{ref} 的许可证费用",
            f"您的申请 {ref} 需要补充信息",
            f"已收到 {ref} 的付款",
            f"您的申请 {ref} 已获批准",
            f"关于您的申请 {ref} 的决定",
            "您的餐馆经营许可证 LIC-1",
        ]
    )
    for mail in received:
        assert mail["Content-Language"] == "zh-Hans"
    submitted = next(m for m in received if "已收到您的申请" in str(m["Subject"]))
    text = submitted.get_body(preferencelist=("plain",))
    html = submitted.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert "Golden <b>Dragon</b> Kitchen" in text.get_content()
    assert "Golden &lt;b&gt;Dragon&lt;/b&gt; Kitchen" in html.get_content()  # autoescaped
    async with container.uow() as uow:
        versions = set(await uow.session.scalars(select(DeliveryRow.template_version)))
    assert all(len(v) == 12 for v in versions)


async def test_a_provider_outage_delays_but_does_not_lose_mail(
    container: Container, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    clock = FixedClock(container.clock.now())
    container.clock = clock
    smtp.stop()  # the mail provider is down
    app = await apply(client)
    worker = notification_worker(container, smtp.port)
    await relay_all(worker)
    async with container.uow() as uow:
        delivery = await uow.session.scalar(
            select(DeliveryRow).where(DeliveryRow.channel == "email")
        )
        state = await uow.session.scalar(
            select(ApplicationRow.state).where(ApplicationRow.id == app["id"])
        )
    assert delivery is not None
    assert delivery.status == "retrying"
    assert delivery.last_error
    assert state == "in_progress"  # the application is not held up by the mail provider
    assert smtp.mailbox.messages == []

    smtp.start()  # back up; the outbox retries after its back-off
    for _ in range(5):
        clock.advance(timedelta(minutes=11))
        await relay_all(worker)
        if smtp.mailbox.messages:
            break
    assert [m["To"] for m in smtp.mailbox.messages] == [CONTACT]
    async with container.uow() as uow:
        sent = await uow.session.get(DeliveryRow, delivery.id)
        pending = await uow.session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.dispatched_at.is_(None))
        )
    assert sent is not None
    assert sent.status == "sent"
    assert sent.attempts == 2
    assert pending == 0


async def test_a_rate_limited_provider_defers_without_counting_attempts(
    container: Container, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    await apply(client, contact_email="one@example.org")
    await apply(client, contact_email="two@example.org")
    worker = notification_worker(container, smtp.port, email=1)
    await relay_all(worker)
    assert len(smtp.mailbox.messages) == 1
    async with container.uow() as uow:
        waiting = list(
            await uow.session.scalars(
                select(OutboxRow).where(
                    OutboxRow.topic == "internal.notification.deliver",
                    OutboxRow.dispatched_at.is_(None),
                )
            )
        )
    assert len(waiting) == 1
    assert waiting[0].attempts == 0
    assert waiting[0].available_at > container.clock.now()


async def test_two_workers_share_one_providers_rate(
    container: Container, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    """A provider allowing 2 mails a minute gets 2 from the platform, not 2 per worker: two
    limiters (two worker processes) on one database count into one window (ADR 0062)."""
    for n in range(3):
        await apply(client, contact_email=f"rate-{n}@example.org")
    library = TemplateLibrary(Path("blueprints/templates"))
    async with container.uow() as uow:
        events = list(await uow.session.scalars(select(OutboxRow.payload)))
    for event in events:
        await plan_notifications(container, library, event)
    async with container.uow() as uow:
        ids = sorted(
            await uow.session.scalars(select(DeliveryRow.id).where(DeliveryRow.channel == "email"))
        )
    assert len(ids) == 3
    channels: dict[str, Channel] = {
        "email": SmtpChannel("127.0.0.1", smtp.port, "civicloom <no-reply@civicloom.test>")
    }
    at_20s_past = lambda: 6000.0 + 20  # noqa: E731 - one fixed instant inside one minute
    first = ProviderLimiter(container.database, {"email": 2}, now=at_20s_past)
    second = ProviderLimiter(container.database, {"email": 2}, now=at_20s_past)
    assert await deliver(container, channels, first, ids[0]) is None
    assert await deliver(container, channels, second, ids[1]) is None
    assert await deliver(container, channels, second, ids[2]) == 40.0  # until the minute turns
    assert len(smtp.mailbox.messages) == 2
    async with container.uow() as uow:
        held = await uow.session.get(DeliveryRow, ids[2])
    assert held is not None
    assert held.status == "queued"
    assert held.attempts == 0
