"""Pub/sub use cases (ADR 0054): each opens a unit of work, changes state, appends its audit entry
and its outbox rows, and commits once.

A **room** is an IM subsystem id (``INSTANCE/CLASS/MEMBER/SUBSYSTEM``) registered to a machine
client in the registrations file (``govstack_clients_file``): that client manages the room's
event types and publishes in it (scope ``events:publish``). Any registered machine client with
``events:subscribe`` subscribes to a room's event types. Publishing writes the event, one
delivery row per subscription and, for each PUSH subscription, one outbox message
(``internal.pubsub.deliver``) in one transaction; the worker's ``PushDeliverer`` posts it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jsonschema
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.govstack.pubsub.domain import (
    MAX_TTL_SECONDS,
    OPEN,
    BadRequest,
    Delivery,
    DeliveryStatus,
    DeliveryView,
    EventView,
    NotSubscribedForPull,
    SubscriptionView,
    check_event_type,
)
from civicloom.govstack.pubsub.tables import (
    DeliveryRow,
    EventTypeRow,
    PublishedEventRow,
    SubscriptionRow,
)
from civicloom.identity import Forbidden
from civicloom.kernel import Clock, Conflict, FieldError, NotFound, Principal, new_id, sha256_hex
from civicloom.outbox import CloudEvent, EventType, enqueue_event
from civicloom.runtime import Container

PUBLISH_SCOPE = "events:publish"
SUBSCRIBE_SCOPE = "events:subscribe"
SOURCE = "civicloom/govstack/pubsub"


@dataclass(frozen=True)
class Room:
    """The room a request names, and what the caller is to it."""

    id: str
    owner_prefix: str

    def owned_by(self, principal: Principal) -> bool:
        """Whether the caller is the machine client the room's subsystem is registered to."""
        return principal.subject == f"client:{self.owner_prefix}"


@dataclass(frozen=True)
class Registered:
    """What the registrations file says about the caller: its subsystems and push endpoints."""

    rooms: dict[str, str]  # subsystem id -> client prefix
    push_endpoints: dict[str, tuple[str, ...]]  # client prefix -> URLs

    def room(self, room_id: str) -> Room:
        """The room; 404 when no machine client is registered for that subsystem."""
        owner = self.rooms.get(room_id)
        if owner is None:
            raise NotFound(f"no room {room_id}: the subsystem is not registered here")
        return Room(room_id, owner)

    def subsystem_of(self, principal: Principal, presented: str) -> str | None:
        """The caller's subsystem id: the presented IM header when it is the caller's, else
        the first subsystem registered to it (None: it has none)."""
        prefix = principal.subject.removeprefix("client:")
        mine = sorted(r for r, p in self.rooms.items() if p == prefix)
        if presented in mine:
            return presented
        return mine[0] if mine else None

    def endpoints_of(self, principal: Principal) -> tuple[str, ...]:
        """The push endpoints an operator registered for the caller."""
        return self.push_endpoints.get(principal.subject.removeprefix("client:"), ())


def _scopes(principal: Principal) -> frozenset[str]:
    return frozenset(getattr(principal, "scopes", frozenset()))


def _manager(principal: Principal, room: Room) -> None:
    """Administering and publishing: the room's own client, holding ``events:publish``."""
    if PUBLISH_SCOPE not in _scopes(principal):
        raise Forbidden(f"the key does not hold {PUBLISH_SCOPE}")
    if not room.owned_by(principal):
        raise Forbidden(f"only the client registered for {room.id} manages and publishes in it")


def _subscriber(principal: Principal) -> None:
    if SUBSCRIBE_SCOPE not in _scopes(principal):
        raise Forbidden(f"the key does not hold {SUBSCRIBE_SCOPE}")


async def _audit(
    session: AsyncSession,
    principal: Principal,
    action: AuditAction,
    subject_type: str,
    subject_id: str,
    now: datetime,
    details: dict[str, Any],
) -> None:
    await append_audit(
        session,
        AuditRecord(
            actor=principal.audit_name,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            occurred_at=now,
            department=principal.department,
            details=details,
        ),
    )


# --- event types ----------------------------------------------------------------------------


async def _event_type(session: AsyncSession, room: str, name: str) -> EventTypeRow | None:
    return await session.get(EventTypeRow, (room, name))


async def create_event_type(
    container: Container, principal: Principal, room: Room, name: str, schema: dict[str, Any]
) -> None:
    """Register an event type and the JSON Schema its events must satisfy (409 if it exists)."""
    _manager(principal, room)
    check_event_type(name)
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise BadRequest([FieldError("schema", "json-schema", exc.message[:300])]) from exc
    now = container.clock.now()
    async with container.uow() as uow:
        if await _event_type(uow.session, room.id, name) is not None:
            raise Conflict(f"event type {name!r} already exists in {room.id}")
        uow.session.add(
            EventTypeRow(
                room=room.id,
                event_type=name,
                schema=schema,
                created_by=principal.subject,
                created_at=now,
            )
        )
        await _audit(
            uow.session,
            principal,
            AuditAction.PUBSUB_EVENT_TYPE_CREATED,
            "pubsub_room",
            room.id,
            now,
            {"event_type": name},
        )
        await uow.commit()


async def list_event_types(container: Container, principal: Principal, room: Room) -> list[str]:
    """The room's event types (its manager, or any client that may subscribe)."""
    if not room.owned_by(principal):
        _subscriber(principal)
    async with container.uow() as uow:
        names = await uow.session.scalars(
            select(EventTypeRow.event_type)
            .where(EventTypeRow.room == room.id)
            .order_by(EventTypeRow.event_type)
        )
        return list(names)


async def read_event_type(
    container: Container, principal: Principal, room: Room, name: str
) -> dict[str, Any] | None:
    """An event type and its schema (None when the room has no such type)."""
    if not room.owned_by(principal):
        _subscriber(principal)
    check_event_type(name)
    async with container.uow() as uow:
        row = await _event_type(uow.session, room.id, name)
        return None if row is None else {"eventType": row.event_type, "schema": row.schema}


async def _cancel_deliveries(session: AsyncSession, now: datetime, *where: Any) -> int:
    result = await session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.status.in_([s.value for s in OPEN]), *where)
        .values(status=DeliveryStatus.CANCELLED.value, ended_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_event_type(
    container: Container, principal: Principal, room: Room, name: str
) -> None:
    """Delete an event type: its subscriptions end and their open deliveries are cancelled."""
    _manager(principal, room)
    check_event_type(name)
    now = container.clock.now()
    async with container.uow() as uow:
        row = await _event_type(uow.session, room.id, name)
        if row is None:
            raise NotFound(f"no event type {name!r} in {room.id}")
        ids = list(
            await uow.session.scalars(
                select(SubscriptionRow.id).where(
                    SubscriptionRow.room == room.id, SubscriptionRow.event_type == name
                )
            )
        )
        cancelled = await _cancel_deliveries(uow.session, now, DeliveryRow.subscription_id.in_(ids))
        await uow.session.execute(delete(SubscriptionRow).where(SubscriptionRow.id.in_(ids)))
        await uow.session.delete(row)
        await _audit(
            uow.session,
            principal,
            AuditAction.PUBSUB_EVENT_TYPE_DELETED,
            "pubsub_room",
            room.id,
            now,
            {
                "event_type": name,
                "subscriptions_ended": len(ids),
                "deliveries_cancelled": cancelled,
            },
        )
        await uow.commit()


# --- publishing -----------------------------------------------------------------------------


def _validate_event(schema: dict[str, Any], event: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    errors = [
        FieldError(
            ".".join(["event", *(str(p) for p in e.absolute_path)]),
            str(e.validator),
            e.message[:300],
        )
        for e in sorted(validator.iter_errors(event), key=lambda e: list(e.absolute_path))
    ]
    if errors:
        raise BadRequest(errors[:20])


def _deliver_event(event_id: str, subscription_id: str, now: datetime) -> CloudEvent:
    return CloudEvent(
        type=EventType.PUBSUB_DELIVER,
        source=SOURCE,
        subject=event_id,
        time=now,
        data={"event_id": event_id, "subscription_id": subscription_id},
    )


async def publish_event(
    container: Container,
    principal: Principal,
    room: Room,
    name: str,
    event: dict[str, Any],
    idempotency_key: str | None,
) -> str:
    """Accept an event: stored, one delivery per subscription, PUSH ones handed to the outbox,
    audited without the payload; returns its id. A repeated ``Idempotency-Key`` with the same
    body answers the first id; with another body, 409."""
    _manager(principal, room)
    check_event_type(name)
    body_hash = sha256_hex(repr(sorted(event.items())) + name)
    now = container.clock.now()
    async with container.uow() as uow:
        session = uow.session
        if idempotency_key:
            earlier = await session.scalar(
                select(PublishedEventRow).where(
                    PublishedEventRow.publisher == principal.subject,
                    PublishedEventRow.idempotency_key == idempotency_key,
                )
            )
            if earlier is not None:
                if earlier.body_hash != body_hash or earlier.room != room.id:
                    raise Conflict("this Idempotency-Key was used with another event")
                return earlier.id
        kind = await _event_type(session, room.id, name)
        if kind is None:
            raise NotFound(f"no event type {name!r} in {room.id}")
        _validate_event(kind.schema, event)
        event_id = new_id()
        row = PublishedEventRow(
            id=event_id,
            room=room.id,
            event_type=name,
            publisher=principal.subject,
            publisher_im=room.id,
            payload=event,
            idempotency_key=idempotency_key,
            body_hash=body_hash,
            published_at=now,
        )
        session.add(row)
        await session.flush()
        subscriptions = list(
            await session.scalars(
                select(SubscriptionRow).where(
                    SubscriptionRow.room == room.id, SubscriptionRow.event_type == name
                )
            )
        )
        for sub in subscriptions:
            session.add(
                DeliveryRow(
                    event_id=event_id,
                    subscription_id=sub.id,
                    sequence=row.sequence,
                    status=DeliveryStatus.PENDING.value,
                    attempts=0,
                )
            )
            if sub.delivery == Delivery.PUSH.value:
                await enqueue_event(
                    session, _deliver_event(event_id, sub.id, now), f"pubsub:{event_id}:{sub.id}"
                )
        await _audit(
            session,
            principal,
            AuditAction.PUBSUB_EVENT_PUBLISHED,
            "pubsub_event",
            event_id,
            now,
            {"room": room.id, "event_type": name, "subscriptions": len(subscriptions)},
        )
        await uow.commit()
    return event_id


def _event_view(row: PublishedEventRow) -> EventView:
    return EventView(row.id, row.sequence, row.room, row.event_type, row.payload, row.published_at)


async def _own_event(
    session: AsyncSession, principal: Principal, room: Room, name: str, event_id: str
) -> PublishedEventRow:
    row = await session.scalar(select(PublishedEventRow).where(PublishedEventRow.id == event_id))
    if row is None or row.room != room.id or row.event_type != name:
        raise NotFound(f"no event {event_id} of type {name!r} in {room.id}")
    if row.publisher != principal.subject:
        raise NotFound(f"no event {event_id} of type {name!r} in {room.id}")
    return row


async def event_status(
    container: Container, principal: Principal, room: Room, name: str, event_id: str
) -> tuple[EventView, list[DeliveryView]]:
    """The publisher's view of its event and of each subscription's delivery."""
    _manager(principal, room)
    async with container.uow() as uow:
        row = await _own_event(uow.session, principal, room, name, event_id)
        found = await uow.session.execute(
            select(DeliveryRow, SubscriptionRow.subscriber_im)
            .outerjoin(SubscriptionRow, SubscriptionRow.id == DeliveryRow.subscription_id)
            .where(DeliveryRow.event_id == event_id)
            .order_by(DeliveryRow.subscription_id)
        )
        deliveries = [
            DeliveryView(
                subscriber_im=im,
                delivery="",
                status=d.status,
                attempts=d.attempts,
                last_attempt_at=d.last_attempt_at,
                delivered_at=d.delivered_at,
                acknowledged_at=d.acknowledged_at,
                last_error=d.last_error,
            )
            for d, im in found.all()
        ]
        return _event_view(row), deliveries


async def cancel_event(
    container: Container, principal: Principal, room: Room, name: str, event_id: str
) -> None:
    """Stop processing an event: its open deliveries are cancelled (pushes not yet made are
    never made; a PULL subscriber no longer gets it)."""
    _manager(principal, room)
    now = container.clock.now()
    async with container.uow() as uow:
        row = await _own_event(uow.session, principal, room, name, event_id)
        if row.cancelled_at is not None:
            return
        row.cancelled_at = now
        cancelled = await _cancel_deliveries(uow.session, now, DeliveryRow.event_id == event_id)
        await _audit(
            uow.session,
            principal,
            AuditAction.PUBSUB_EVENT_CANCELLED,
            "pubsub_event",
            event_id,
            now,
            {"room": room.id, "event_type": name, "deliveries_cancelled": cancelled},
        )
        await uow.commit()


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
    _subscriber(principal)
    check_event_type(name)
    check_request(request, registered, principal)
    now = container.clock.now()
    async with container.uow() as uow:
        if await _event_type(uow.session, room.id, name) is None:
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
            delivery=request.delivery.value,
            push_url=request.push_url,
            ttl_seconds=request.ttl_seconds,
            fifo=request.fifo,
            created_at=now,
        )
        uow.session.add(row)
        await _audit(
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
    _subscriber(principal)
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
    _subscriber(principal)
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
    _subscriber(principal)
    check_event_type(name)
    check_request(request, registered, principal)
    now = container.clock.now()
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
                    _deliver_event(event_id, row.id, now),
                    f"pubsub:{event_id}:{row.id}:{round_}",
                )
        await _audit(
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
    _subscriber(principal)
    check_event_type(name)
    now = container.clock.now()
    async with container.uow() as uow:
        row = await _my_subscription(uow.session, principal, room, name)
        if row is None:
            raise NotFound(f"no subscription to {name!r} in {room.id}")
        cancelled = await _cancel_deliveries(
            uow.session, now, DeliveryRow.subscription_id == row.id
        )
        await uow.session.delete(row)
        await _audit(
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


async def _expire(
    session: AsyncSession, sub: SubscriptionRow, now: datetime, principal_name: str
) -> None:
    """Open deliveries older than the subscription's TTL end as dead (a wait that ends)."""
    horizon = now - timedelta(seconds=sub.ttl_seconds)
    old = list(
        await session.scalars(
            select(DeliveryRow)
            .join(PublishedEventRow, PublishedEventRow.id == DeliveryRow.event_id)
            .where(
                DeliveryRow.subscription_id == sub.id,
                DeliveryRow.status.in_([s.value for s in OPEN]),
                PublishedEventRow.published_at < horizon,
            )
        )
    )
    for d in old:
        d.status, d.ended_at, d.last_error = DeliveryStatus.DEAD.value, now, "expired (TTL)"
        await append_audit(
            session,
            AuditRecord(
                actor=principal_name,
                action=AuditAction.PUBSUB_DELIVERY_DEAD,
                subject_type="pubsub_event",
                subject_id=d.event_id,
                occurred_at=now,
                details={"subscription": sub.id, "reason": "ttl"},
            ),
        )


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
    _subscriber(principal)
    check_event_type(name)
    now = container.clock.now()
    async with container.uow() as uow:
        sub = await _pull_subscription(uow.session, principal, room, name)
        await _expire(uow.session, sub, now, "system:pubsub")
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
        await _audit(
            uow.session,
            principal,
            AuditAction.PUBSUB_EVENT_FETCHED,
            "pubsub_event",
            event.id,
            now,
            {"subscription": sub.id, "attempt": delivery.attempts},
        )
        view = _event_view(event)
        await uow.commit()
    return view


async def acknowledge(
    container: Container, principal: Principal, room: Room, name: str, event_id: str
) -> None:
    """Confirm a fetched event (409 when it was never fetched, 404 when there is none open)."""
    _subscriber(principal)
    check_event_type(name)
    now = container.clock.now()
    async with container.uow() as uow:
        sub = await _pull_subscription(uow.session, principal, room, name)
        delivery = await uow.session.get(DeliveryRow, (event_id, sub.id))
        if delivery is None or delivery.status not in [s.value for s in OPEN]:
            raise NotFound(f"no open event {event_id} for this subscription")
        if delivery.status == DeliveryStatus.PENDING.value:
            raise NotSubscribedForPull("fetch the event before acknowledging it")
        delivery.status = DeliveryStatus.ACKNOWLEDGED.value
        delivery.acknowledged_at = delivery.ended_at = now
        await _audit(
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
    endpoints: Mapping[str, Sequence[str]],
) -> PushTarget | None:
    """Record a PUSH attempt and answer what to post; None when there is nothing to push (the
    delivery ended, the subscription turned to PULL, or the event outlived its TTL).
    ``endpoints``: each client's registered push endpoints (prefix -> URLs); an endpoint an
    operator has since removed ends the delivery as dead."""
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
        await _expire(session, sub, now, "system:pubsub")
        if delivery.status != DeliveryStatus.PENDING.value:
            await uow.commit()
            return None
        if sub.push_url not in endpoints.get(sub.subscriber.removeprefix("client:"), ()):
            await _end_dead(session, delivery, now, "the push endpoint is no longer registered")
            await uow.commit()
            return None
        delivery.attempts += 1
        delivery.last_attempt_at = now
        target = PushTarget(
            _event_view(event), sub.id, sub.subscriber, str(sub.push_url), delivery.attempts
        )
        await uow.commit()
    return target


async def _end_dead(session: AsyncSession, delivery: DeliveryRow, now: datetime, why: str) -> None:
    delivery.status, delivery.ended_at, delivery.last_error = DeliveryStatus.DEAD.value, now, why
    await append_audit(
        session,
        AuditRecord(
            actor="system:pubsub",
            action=AuditAction.PUBSUB_DELIVERY_DEAD,
            subject_type="pubsub_event",
            subject_id=delivery.event_id,
            occurred_at=now,
            details={"subscription": delivery.subscription_id, "reason": why[:200]},
        ),
    )


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
            await _end_dead(uow.session, delivery, now, error)
        else:
            delivery.last_error = error[:2000]
        await uow.commit()
