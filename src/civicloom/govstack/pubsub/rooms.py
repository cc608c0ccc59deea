"""Rooms and who may act in them (ADR 0054), and the records every pub/sub use case shares.

A **room** is an IM subsystem id (``INSTANCE/CLASS/MEMBER/SUBSYSTEM``) registered to a machine
client in the registrations file (``govstack_clients_file``): that client manages the room's
event types and publishes in it (scope ``events:publish``). Any registered machine client with
``events:subscribe`` subscribes to a room's event types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.govstack.pubsub.domain import (
    OPEN,
    Delivery,
    DeliveryStatus,
    EventView,
)
from civicloom.govstack.pubsub.tables import (
    DeliveryRow,
    EventTypeRow,
    PublishedEventRow,
    SubscriptionRow,
)
from civicloom.identity import Forbidden
from civicloom.kernel import NotFound, Principal
from civicloom.outbox import CloudEvent, EventType, enqueue_event

PUBLISH_SCOPE = "events:publish"
SUBSCRIBE_SCOPE = "events:subscribe"
SOURCE = "civicloom/govstack/pubsub"
PLATFORM_ROOM = "civicloom/GOV/civicloom/case-events"
"""The platform's own room: its case events, published by the worker (ADR 0057); no client
owns it, so only an operator keeps its list of allowed subscribers."""
PLATFORM_PUBLISHER = "system:case-events"
PLATFORM_EVENT_TYPES = (
    "application.submitted",
    "application.approved",
    "application.rejected",
    "application.withdrawn",
    "application.failed",
    "licence.issued",
)
"""The platform room's event types: the public case events of the outbox, without the
``civicloom.`` prefix (``bridge.py`` relays them)."""
CASE_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reference": {"type": "string"},
        "service": {"type": "string"},
        "state": {"type": "string"},
        "occurredAt": {"type": "string"},
    },
    "required": ["reference", "service", "state", "occurredAt"],
    "additionalProperties": False,
}
"""What a case event carries: no more than every department with a step may see (ADR 0057)."""


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
        if room_id == PLATFORM_ROOM:
            return Room(room_id, "")  # owned by no client
        owner = self.rooms.get(room_id)
        if owner is None:
            raise NotFound(f"no room {room_id}: the subsystem is not registered here")
        return Room(room_id, owner)

    def has_room(self, room_id: str) -> bool:
        """Whether the room exists (registered, or the platform's own)."""
        return room_id == PLATFORM_ROOM or room_id in self.rooms

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


def scopes_held(principal: Principal) -> frozenset[str]:
    return frozenset(getattr(principal, "scopes", frozenset()))


def require_manager(principal: Principal, room: Room) -> None:
    """Administering and publishing: the room's own client, holding ``events:publish``."""
    if PUBLISH_SCOPE not in scopes_held(principal):
        raise Forbidden(f"the key does not hold {PUBLISH_SCOPE}")
    if not room.owned_by(principal):
        raise Forbidden(f"only the client registered for {room.id} manages and publishes in it")


def require_subscriber(principal: Principal) -> None:
    if SUBSCRIBE_SCOPE not in scopes_held(principal):
        raise Forbidden(f"the key does not hold {SUBSCRIBE_SCOPE}")


async def audit_change(
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


async def event_type_row(session: AsyncSession, room: str, name: str) -> EventTypeRow | None:
    """The room's event type; the platform room's types exist from the start (added to the
    session on first use, kept when the caller commits)."""
    found = await session.get(EventTypeRow, (room, name))
    if found is None and room == PLATFORM_ROOM and name in PLATFORM_EVENT_TYPES:
        found = EventTypeRow(
            room=room,
            event_type=name,
            schema=CASE_EVENT_SCHEMA,
            created_by=PLATFORM_PUBLISHER,
            created_at=datetime.now(UTC),
        )
        session.add(found)
    return found


async def cancel_open_deliveries(session: AsyncSession, now: datetime, *where: Any) -> int:
    result = await session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.status.in_([s.value for s in OPEN]), *where)
        .values(status=DeliveryStatus.CANCELLED.value, ended_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def deliver_message(event_id: str, subscription_id: str, now: datetime) -> CloudEvent:
    return CloudEvent(
        type=EventType.PUBSUB_DELIVER,
        source=SOURCE,
        subject=event_id,
        time=now,
        data={"event_id": event_id, "subscription_id": subscription_id},
    )


async def hand_to_subscribers(
    session: AsyncSession,
    event: PublishedEventRow,
    subscriptions: list[SubscriptionRow],
    now: datetime,
) -> None:
    """A pending delivery per subscription, and an outbox message per PUSH one, in the
    publishing transaction."""
    for sub in subscriptions:
        session.add(
            DeliveryRow(
                event_id=event.id,
                subscription_id=sub.id,
                sequence=event.sequence,
                status=DeliveryStatus.PENDING.value,
                attempts=0,
            )
        )
        if sub.delivery == Delivery.PUSH.value:
            await enqueue_event(
                session, deliver_message(event.id, sub.id, now), f"pubsub:{event.id}:{sub.id}"
            )


def event_view(row: PublishedEventRow) -> EventView:
    return EventView(row.id, row.sequence, row.room, row.event_type, row.payload, row.published_at)


async def expire_overdue(
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


async def end_dead(session: AsyncSession, delivery: DeliveryRow, now: datetime, why: str) -> None:
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
