"""A message no retry can send fails at once and is reported failed, never 'deferred' forever."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from civicloom.kernel import FixedClock
from civicloom.notifications.api.govstack import STATUS_NAMES
from civicloom.notifications.domain import ChannelKind, Recipient, RenderedMessage
from civicloom.notifications.services import add_delivery
from civicloom.notifications.tables import DeliveryRow
from civicloom.outbox.tables import OutboxRow
from civicloom.runtime import Container
from tests.integration.notifications.conftest import SmtpServer, notification_worker, relay_all


async def queue_one(container: Container, subject: str) -> str:
    """One e-mail delivery (and its outbox row), as the messaging facade queues it."""
    rendered = RenderedMessage("govstack/email", "external", "en", subject, "Pay by Friday", "<p/>")
    async with container.uow() as uow:
        row = await add_delivery(
            uow.session,
            container,
            "request-1",
            Recipient(subject="tax-system#0", email="q@example.org"),
            ChannelKind.EMAIL,
            rendered,
            batch_id="request-1",
        )
        await uow.commit()
    assert row is not None
    return row.id


async def test_a_subject_no_header_can_carry_fails_once_and_is_reported_not_sent(
    container: Container, smtp: SmtpServer
) -> None:
    # The API refuses such a title (test_bad_input); a row written before that check, or by
    # another path, must still end as failed rather than be retried twelve times.
    delivery_id = await queue_one(container, "Tax\nBcc: all@example.org")
    await relay_all(notification_worker(container, smtp.port))

    assert smtp.mailbox.messages == []
    async with container.uow() as uow:
        delivery = await uow.session.get(DeliveryRow, delivery_id)
        pending = await uow.session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.dispatched_at.is_(None))
        )
    assert delivery is not None
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error is not None
    assert delivery.last_error.startswith("UndeliverableMessage")
    assert pending == 0  # nothing left to retry
    assert STATUS_NAMES[delivery.status] == "notSent"  # what GET /status/email reports


async def test_a_provider_that_never_accepts_ends_failed_not_deferred(
    container: Container, smtp: SmtpServer
) -> None:
    clock = FixedClock(container.clock.now())
    container.clock = clock
    smtp.stop()  # the provider refuses every attempt
    delivery_id = await queue_one(container, "Tax reminder")
    worker = notification_worker(container, smtp.port)
    for _ in range(14):  # the outbox gives up after 12 attempts
        await relay_all(worker)
        clock.advance(timedelta(minutes=11))  # past the longest back-off
    async with container.uow() as uow:
        delivery = await uow.session.get(DeliveryRow, delivery_id)
        dead = await uow.session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.dead_at.is_not(None))
        )
    assert delivery is not None
    assert (delivery.status, delivery.attempts) == ("failed", 12)
    assert dead == 1
    assert STATUS_NAMES[delivery.status] == "notSent"
