"""A message no retry can send fails at once and is reported failed, never 'deferred' forever."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select

from civicloom.identity import create_api_key
from civicloom.kernel import FixedClock
from civicloom.notifications.api.govstack import EmailContent, RecipientInfo, queue_emails
from civicloom.notifications.tables import DeliveryRow
from civicloom.outbox.tables import OutboxRow
from civicloom.runtime import Container
from tests.integration.notifications.conftest import SmtpServer, notification_worker, relay_all


async def test_a_subject_no_header_can_carry_fails_once_and_is_reported_not_sent(
    container: Container, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    issued = await create_api_key(
        container.uow(),
        container.clock,
        name="tax-system",
        department="tax",
        scopes=["messaging:send"],
    )
    # The API refuses such a title (test_bad_input); a row written before that check, or by
    # another path, must still end as failed rather than be retried twelve times.
    content = EmailContent.model_construct(
        encoding="UTF-8", title="Tax\nBcc: all@example.org", content="Pay by Friday"
    )
    uid = await queue_emails(
        container, "tax-system", [RecipientInfo(email="q@example.org")], content
    )
    await relay_all(notification_worker(container, smtp.port))

    assert smtp.mailbox.messages == []
    async with container.uow() as uow:
        delivery = await uow.session.scalar(select(DeliveryRow).where(DeliveryRow.batch_id == uid))
        pending = await uow.session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.dispatched_at.is_(None))
        )
    assert delivery is not None
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error is not None
    assert delivery.last_error.startswith("UndeliverableMessage")
    assert pending == 0  # nothing left to retry
    status = await client.get("/status/email", headers={"apiKey": issued.key, "requestUid": uid})
    assert status.status_code == 200
    assert status.json()["notSent"] == 1
    assert status.json()["deferred"] == 0


async def test_a_provider_that_never_accepts_ends_failed_not_deferred(
    container: Container, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    clock = FixedClock(container.clock.now())
    container.clock = clock
    smtp.stop()  # the provider refuses every attempt
    content = EmailContent(title="Tax reminder", content="Pay by Friday")
    uid = await queue_emails(
        container, "tax-system", [RecipientInfo(email="q@example.org")], content
    )
    worker = notification_worker(container, smtp.port)
    for _ in range(14):  # the outbox gives up after 12 attempts
        await relay_all(worker)
        clock.advance(timedelta(minutes=11))  # past the longest back-off
    async with container.uow() as uow:
        delivery = await uow.session.scalar(select(DeliveryRow).where(DeliveryRow.batch_id == uid))
        dead = await uow.session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.dead_at.is_not(None))
        )
    assert delivery is not None
    assert (delivery.status, delivery.attempts) == ("failed", 12)
    assert dead == 1
