"""Pub/sub use cases of a subscriber (ADR 0054): its subscriptions, and PULL with
acknowledgement. Each opens a unit of work, changes state, appends its audit entry, commits once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit import AuditAction
from civicloom.govstack.pubsub.allowed import require_allowed
from civicloom.govstack.pubsub.domain import (
    MAX_TTL_SECONDS,
    OPEN,
    BadRequest,
    Delivery,
    DeliveryStatus,
    EventView,
    NotSubscribedForPull,
    SubscriptionView,
    check_event_type,
)
from civicloom.govstack.pubsub.rooms import (
    Registered,
    Room,
    audit_change,
    cancel_open_deliveries,
    deliver_message,
    event_type_row,
    event_view,
    expire_overdue,
    require_subscriber,
)
from civicloom.govstack.pubsub.tables import (
    DeliveryRow,
    PublishedEventRow,
    SubscriptionRow,
)
from civicloom.kernel import Conflict, FieldError, NotFound, Principal, new_id
from civicloom.outbox import enqueue_event
from civicloom.runtime import Container

# --- subscriptions --------------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionRequest:
    """What a subscriber asks for (``SubscriptionItem``'s fields civicloom uses)."""

    delivery: Delivery
    push_url: str | None
    ttl_seconds: int
    fifo: bool


def check_request(
    request: SubscriptionRequest, registered: Registered, principal: Principal
) -> None:
    """PUSH goes only to an endpoint an operator registered for the client; TTL is bounded."""
    errors: list[FieldError] = []
    if request.delivery is Delivery.PUSH:
        endpoints = registered.endpoints_of(principal)
        if not request.push_url:
            errors.append(FieldError("pushUrl", "required", "PUSH delivery needs an endpoint"))
        elif request.push_url not in endpoints:
            errors.append(
                FieldError(
                    "pushUrl",
                    "registered",
                    "give one of the push endpoints registered for this client",
                )
            )
    elif request.push_url:
        errors.append(FieldError("pushUrl", "absent", "PULL delivery takes no endpoint"))
    if not 1 <= request.ttl_seconds <= MAX_TTL_SECONDS:
        errors.append(FieldError("options.TTL", "range", f"give 1 to {MAX_TTL_SECONDS} seconds"))
    if errors:
        raise BadRequest(errors)


def _subscription_view(row: SubscriptionRow) -> SubscriptionView:
    return SubscriptionView(
        id=row.id,
        room=row.room,
        event_type=row.event_type,
        subscriber_im=row.subscriber_im,
        delivery=Delivery(row.delivery),
        push_url=row.push_url,
        ttl_seconds=row.ttl_seconds,
        fifo=row.fifo,
    )


async def _my_subscription(
    session: AsyncSession, principal: Principal, room: Room, name: str
) -> SubscriptionRow | None:
    found: SubscriptionRow | None = await session.scalar(
        select(SubscriptionRow).where(
            SubscriptionRow.room == room.id,
            SubscriptionRow.event_type == name,
            SubscriptionRow.subscriber == principal.subject,
        )
    )
    return found


async def subscribe(
    container: Container,
    principal: Principal,
    registered: Registered,
    room: Room,
    name: str,
    request: SubscriptionRequest,
    presented_im: str,
) -> SubscriptionView:
    """Subscribe the caller to an event type of the room (409 when it already is)."""
    require_subscriber(principal)
    check_event_type(name)
    check_request(request, registered, principal)
    now = container.clock.now()
    await require_allowed(container, principal, room, "subscribe")
    async with container.uow() as uow:
        if await event_type_row(uow.session, room.id, name) is None:
            raise BadRequest(
                [FieldError("eventType", "exists", f"the room {room.id} has no event type {name}")]
            )
        if await _my_subscription(uow.session, principal, room, name) is not None:
            raise Conflict(f"already subscribed to {name!r} in {room.id}")
        row = SubscriptionRow(
            id=new_id(),
            room=room.id,
            event_type=name,
            subscriber=principal.subject,
            subscriber_im=registered.subsystem_of(principal, presented_im),
            subscriber_department=principal.department,
            delivery=request.delivery.value,
            push_url=request.push_url,
            ttl_seconds=request.ttl_seconds,
            fifo=request.fifo,
            created_at=now,
        )
        uow.session.add(row)
        await audit_change(
            uow.session,
            principal,
            AuditAction.PUBSUB_SUBSCRIBED,
            "pubsub_room",
            room.id,
            now,
            {"event_type": name, "subscription": row.id, "delivery": row.delivery},
        )
        view = _subscription_view(row)
        await uow.commit()
    return view


async def my_subscriptions(
    container: Container, principal: Principal, room: Room
) -> list[SubscriptionView]:
    """The caller's subscriptions in the room."""
    require_subscriber(principal)
    async with container.uow() as uow:
        rows = await uow.session.scalars(
            select(SubscriptionRow)
            .where(SubscriptionRow.room == room.id, SubscriptionRow.subscriber == principal.subject)
            .order_by(SubscriptionRow.event_type)
        )
        return [_subscription_view(r) for r in rows]


async def my_subscription(
    container: Container, principal: Principal, room: Room, name: str
) -> SubscriptionView:
    """The caller's subscription to an event type (404 when there is none)."""
    require_subscriber(principal)
    check_event_type(name)
    async with container.uow() as uow:
        row = await _my_subscription(uow.session, principal, room, name)
        if row is None:
            raise NotFound(f"no subscription to {name!r} in {room.id}")
        return _subscription_view(row)


async def change_subscription(
    container: Container,
    principal: Principal,
    registered: Registered,
    room: Room,
    name: str,
    request: SubscriptionRequest,
) -> SubscriptionView:
    """Change delivery, endpoint or options; turning to PUSH hands the pending events to the
    outbox (turning to PULL leaves them to be fetched)."""
    require_subscriber(principal)
    check_event_type(name)
    check_request(request, registered, principal)
    now = container.clock.now()
    await require_allowed(container, principal, room, "change a subscription")
    async with container.uow() as uow:
        row = await _my_subscription(uow.session, principal, room, name)
        if row is None:
            raise NotFound(f"no subscription to {name!r} in {room.id}")
        to_push = row.delivery != Delivery.PUSH.value and request.delivery is Delivery.PUSH
        row.delivery, row.push_url = request.delivery.value, request.push_url
        row.ttl_seconds, row.fifo = request.ttl_seconds, request.fifo
        if to_push:
            pending = await uow.session.scalars(
                select(DeliveryRow.event_id).where(
                    DeliveryRow.subscription_id == row.id,
                    DeliveryRow.status == DeliveryStatus.PENDING.value,
                )
            )
            round_ = new_id()[:8]
            for event_id in pending:
                await enqueue_event(
                    uow.session,
                    deliver_message(event_id, row.id, now),
                    f"pubsub:{event_id}:{row.id}:{round_}",
                )
        await audit_change(
            uow.session,
            principal,
            AuditAction.PUBSUB_SUBSCRIPTION_CHANGED,
            "pubsub_room",
            room.id,
            now,
            {"event_type": name, "subscription": row.id, "delivery": row.delivery},
        )
        view = _subscription_view(row)
        await uow.commit()
    return view


async def unsubscribe(container: Container, principal: Principal, room: Room, name: str) -> None:
    """End the caller's subscription; its open deliveries are cancelled."""
    require_subscriber(principal)
    check_event_type(name)
    now = container.clock.now()
    async with container.uow() as uow:
        row = await _my_subscription(uow.session, principal, room, name)
        if row is None:
            raise NotFound(f"no subscription to {name!r} in {room.id}")
        cancelled = await cancel_open_deliveries(
            uow.session, now, DeliveryRow.subscription_id == row.id
        )
        await uow.session.delete(row)
        await audit_change(
            uow.session,
            principal,
            AuditAction.PUBSUB_UNSUBSCRIBED,
            "pubsub_room",
            room.id,
            now,
            {"event_type": name, "subscription": row.id, "deliveries_cancelled": cancelled},
        )
        await uow.commit()


# --- PULL -----------------------------------------------------------------------------------


async def _pull_subscription(
    session: AsyncSession, principal: Principal, room: Room, name: str
) -> SubscriptionRow:
    row = await _my_subscription(session, principal, room, name)
    if row is None or row.delivery != Delivery.PULL.value:
        raise NotSubscribedForPull(f"no PULL subscription to {name!r} in {room.id}")
    return row


async def pull_next(
    container: Container, principal: Principal, room: Room, name: str
) -> EventView | None:
    """The caller's next unacknowledged event, in publishing order; the hand-over is recorded
    (attempt, time, audit) before it is answered. None when there is none."""
    require_subscriber(principal)
    check_event_type(name)
    now = container.clock.now()
    await require_allowed(container, principal, room, "fetch an event")
    async with container.uow() as uow:
        sub = await _pull_subscription(uow.session, principal, room, name)
        await expire_overdue(uow.session, sub, now, "system:pubsub")
        found = (
            await uow.session.execute(
                select(DeliveryRow, PublishedEventRow)
                .join(PublishedEventRow, PublishedEventRow.id == DeliveryRow.event_id)
                .where(
                    DeliveryRow.subscription_id == sub.id,
                    DeliveryRow.status.in_([s.value for s in OPEN]),
                )
                .order_by(DeliveryRow.sequence)
                .limit(1)
            )
        ).first()
        if found is None:
            await uow.commit()  # expiries, if any
            return None
        delivery, event = found
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.status = DeliveryStatus.DELIVERED.value
        delivery.delivered_at = delivery.delivered_at or now
        await audit_change(
            uow.session,
            principal,
            AuditAction.PUBSUB_EVENT_FETCHED,
            "pubsub_event",
            event.id,
            now,
            {"subscription": sub.id, "attempt": delivery.attempts},
        )
        view = event_view(event)
        await uow.commit()
    return view


async def acknowledge(
    container: Container, principal: Principal, room: Room, name: str, event_id: str
) -> None:
    """Confirm a fetched event (409 when it was never fetched, 404 when there is none open)."""
    require_subscriber(principal)
    check_event_type(name)
    now = container.clock.now()
    await require_allowed(container, principal, room, "acknowledge an event")
    async with container.uow() as uow:
        sub = await _pull_subscription(uow.session, principal, room, name)
        delivery = await uow.session.get(DeliveryRow, (event_id, sub.id))
        if delivery is None or delivery.status not in [s.value for s in OPEN]:
            raise NotFound(f"no open event {event_id} for this subscription")
        if delivery.status == DeliveryStatus.PENDING.value:
            raise NotSubscribedForPull("fetch the event before acknowledging it")
        delivery.status = DeliveryStatus.ACKNOWLEDGED.value
        delivery.acknowledged_at = delivery.ended_at = now
        await audit_change(
            uow.session,
            principal,
            AuditAction.PUBSUB_EVENT_ACKNOWLEDGED,
            "pubsub_event",
            event_id,
            now,
            {"subscription": sub.id},
        )
        await uow.commit()


# --- PUSH (the worker) ----------------------------------------------------------------------
