"""PUSH delivery's records (ADR 0054): the attempt is written before the worker's call and its
outcome after it, each in a short transaction of its own (no remote call inside one)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.govstack.pubsub.allowed import is_allowed
from civicloom.govstack.pubsub.domain import (
    Delivery,
    DeliveryStatus,
    EventView,
)
from civicloom.govstack.pubsub.rooms import (
    Registered,
    end_dead,
    event_view,
    expire_overdue,
)
from civicloom.govstack.pubsub.tables import (
    DeliveryRow,
    PublishedEventRow,
    SubscriptionRow,
)
from civicloom.kernel import Clock
from civicloom.runtime import Container

NOT_ALLOWED = "the subscriber is no longer allowed in this room"


@dataclass(frozen=True)
class PushTarget:
    """What one PUSH attempt needs, read (and the attempt recorded) before any remote call."""

    event: EventView
    subscription_id: str
    subscriber: str
    push_url: str
    attempt: int


async def start_push(
    container: Container,
    event_id: str,
    subscription_id: str,
    registered: Registered,
) -> PushTarget | None:
    """Record a PUSH attempt and answer what to post; None when there is nothing to push (the
    delivery ended, the subscription turned to PULL, or the event outlived its TTL).
    ``registered``: the rooms and each client's push endpoints; an endpoint an operator has
    since removed ends the delivery as dead, a subscriber no longer on the room's list ends it
    as cancelled (ADR 0057)."""
    clock: Clock = container.clock
    now = clock.now()
    async with container.uow() as uow:
        session = uow.session
        delivery = await session.get(DeliveryRow, (event_id, subscription_id))
        if delivery is None or delivery.status != DeliveryStatus.PENDING.value:
            return None
        sub = await session.get(SubscriptionRow, subscription_id)
        event = await session.scalar(
            select(PublishedEventRow).where(PublishedEventRow.id == event_id)
        )
        if sub is None or event is None:
            delivery.status, delivery.ended_at = DeliveryStatus.CANCELLED.value, now
            await uow.commit()
            return None
        if sub.delivery != Delivery.PUSH.value:
            return None  # left for the subscriber to fetch
        room = registered.room(sub.room) if registered.has_room(sub.room) else None
        if room is None or not await is_allowed(session, room, sub.subscriber):
            delivery.status, delivery.ended_at = DeliveryStatus.CANCELLED.value, now
            delivery.last_error = NOT_ALLOWED
            await uow.commit()
            return None
        await expire_overdue(session, sub, now, "system:pubsub")
        if delivery.status != DeliveryStatus.PENDING.value:
            await uow.commit()
            return None
        endpoints = registered.push_endpoints
        if sub.push_url not in endpoints.get(sub.subscriber.removeprefix("client:"), ()):
            await end_dead(session, delivery, now, "the push endpoint is no longer registered")
            await uow.commit()
            return None
        delivery.attempts += 1
        delivery.last_attempt_at = now
        target = PushTarget(
            event_view(event), sub.id, sub.subscriber, str(sub.push_url), delivery.attempts
        )
        await uow.commit()
    return target


async def finish_push(
    container: Container, target: PushTarget, error: str | None, last_attempt: bool
) -> None:
    """Record the outcome of a PUSH attempt (before the outbox message is acknowledged):
    delivered, or the error — and dead after the last attempt."""
    now = container.clock.now()
    async with container.uow() as uow:
        delivery = await uow.session.get(DeliveryRow, (target.event.id, target.subscription_id))
        if delivery is None or delivery.status != DeliveryStatus.PENDING.value:
            return  # cancelled meanwhile: the outcome changes nothing
        if error is None:
            delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED.value, now
            delivery.ended_at, delivery.last_error = now, None
            await append_audit(
                uow.session,
                AuditRecord(
                    actor="system:pubsub",
                    action=AuditAction.PUBSUB_EVENT_DELIVERED,
                    subject_type="pubsub_event",
                    subject_id=target.event.id,
                    occurred_at=now,
                    details={
                        "subscription": target.subscription_id,
                        "subscriber": target.subscriber,
                        "attempt": target.attempt,
                    },
                ),
            )
        elif last_attempt:
            await end_dead(uow.session, delivery, now, error)
        else:
            delivery.last_error = error[:2000]
        await uow.commit()
