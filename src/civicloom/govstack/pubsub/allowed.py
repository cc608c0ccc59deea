"""Who may subscribe to a room (ADR 0057): the room's own client, and the machine clients its
owner or an operator put on the room's list. Subscribing, reading the room's event types,
fetching and every PUSH check the list; a refusal is a 403 whose audit entry
(``identity.access_denied``) is the only row it leaves. Removing a client ends its
subscriptions in the room and cancels their open deliveries, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.govstack.pubsub.domain import BadRequest, split_room
from civicloom.govstack.pubsub.rooms import (
    Registered,
    Room,
    cancel_open_deliveries,
    require_manager,
)
from civicloom.govstack.pubsub.tables import AllowedSubscriberRow, DeliveryRow, SubscriptionRow
from civicloom.identity import Forbidden
from civicloom.kernel import FieldError, NotFound, Principal
from civicloom.runtime import Container


@dataclass(frozen=True)
class AllowedView:
    """One client on a room's list, as its owner sees it (the client's IM subsystem)."""

    subscriber_im: str | None
    added_by: str
    added_at: datetime

    def item(self) -> dict[str, Any]:
        """``subscriberId`` as the spec spells a subsystem, who added it (in words: the room's
        owner, an operator, or the migration that kept an existing subscriber) and when."""
        by = "operator"
        if self.added_by.startswith("api-key:"):
            by = "owner"
        elif self.added_by.startswith("migration:"):
            by = "already subscribed"
        return {
            "subscriberId": split_room(self.subscriber_im) if self.subscriber_im else None,
            "addedBy": by,
            "addedAt": self.added_at.isoformat(),
        }


async def is_allowed(session: AsyncSession, room: Room, subscriber: str) -> bool:
    """Whether ``subscriber`` (``client:<prefix>``) may receive the room's events."""
    if subscriber == f"client:{room.owner_prefix}":
        return True
    return await session.get(AllowedSubscriberRow, (room.id, subscriber)) is not None


async def require_allowed(
    container: Container, principal: Principal, room: Room, what: str
) -> None:
    """Refuse (403) a client the room's list does not name, before the use case opens its own
    transaction (SQLite has one writer); the refusal's audit entry is the only row it leaves.
    A removal between this check and the use case is caught again where events are handed
    over: publishing and every push skip a client no longer listed."""
    async with container.uow() as uow:
        if await is_allowed(uow.session, room, principal.subject):
            return
        await append_audit(
            uow.session,
            AuditRecord(
                actor=principal.audit_name,
                action=AuditAction.ACCESS_DENIED,
                subject_type="pubsub_room",
                subject_id=room.id,
                occurred_at=container.clock.now(),
                department=principal.department,
                details={"reason": "not-an-allowed-subscriber", "what": what},
            ),
        )
        await uow.commit()
    raise Forbidden(
        f"the owner of {room.id} has not allowed this client to receive its events;"
        " ask the room's owner or an operator to add it"
    )


def resolve_subscriber(registered: Registered, room: Room, subsystem: str) -> str:
    """The client (``client:<prefix>``) an IM subsystem stands for; 400 naming
    ``subscriberId`` when none does, or when it is the room's own client."""
    prefix = registered.rooms.get(subsystem)
    if prefix is None:
        raise BadRequest(
            [FieldError("subscriberId", "registered", f"no client is registered for {subsystem}")]
        )
    if prefix == room.owner_prefix:
        raise BadRequest(
            [FieldError("subscriberId", "own", "the room's own client needs no place on its list")]
        )
    return f"client:{prefix}"


async def allow_subscriber(
    container: Container,
    room: Room,
    subscriber: str,
    subscriber_im: str | None,
    *,
    actor: str,
    department: str | None,
) -> bool:
    """Put a client on the room's list (audited); False when it already was (nothing changes)."""
    now = container.clock.now()
    async with container.uow() as uow:
        if await uow.session.get(AllowedSubscriberRow, (room.id, subscriber)) is not None:
            return False
        uow.session.add(
            AllowedSubscriberRow(
                room=room.id,
                subscriber=subscriber,
                subscriber_im=subscriber_im,
                added_by=actor,
                added_at=now,
            )
        )
        await append_audit(
            uow.session,
            AuditRecord(
                actor=actor,
                action=AuditAction.PUBSUB_SUBSCRIBER_ALLOWED,
                subject_type="pubsub_room",
                subject_id=room.id,
                occurred_at=now,
                department=department,
                details={"subscriber": subscriber, "subscriber_im": subscriber_im},
            ),
        )
        await uow.commit()
    return True


async def remove_subscriber(
    container: Container, room: Room, subscriber: str, *, actor: str, department: str | None
) -> None:
    """Take a client off the room's list: its subscriptions in the room end and their open
    deliveries are cancelled (no further push, nothing more to fetch). 404 when not listed."""
    now = container.clock.now()
    async with container.uow() as uow:
        row = await uow.session.get(AllowedSubscriberRow, (room.id, subscriber))
        if row is None:
            raise NotFound(f"that client is not on the list of {room.id}")
        ids = list(
            await uow.session.scalars(
                select(SubscriptionRow.id).where(
                    SubscriptionRow.room == room.id, SubscriptionRow.subscriber == subscriber
                )
            )
        )
        cancelled = await cancel_open_deliveries(
            uow.session, now, DeliveryRow.subscription_id.in_(ids)
        )
        await uow.session.execute(delete(SubscriptionRow).where(SubscriptionRow.id.in_(ids)))
        await uow.session.delete(row)
        await append_audit(
            uow.session,
            AuditRecord(
                actor=actor,
                action=AuditAction.PUBSUB_SUBSCRIBER_REMOVED,
                subject_type="pubsub_room",
                subject_id=room.id,
                occurred_at=now,
                department=department,
                details={
                    "subscriber": subscriber,
                    "subscriptions_ended": len(ids),
                    "deliveries_cancelled": cancelled,
                },
            ),
        )
        await uow.commit()


async def allowed_subscribers(
    container: Container, principal: Principal, room: Room
) -> list[AllowedView]:
    """The room's list (by subscriber subsystem), for its own client."""
    require_manager(principal, room)
    async with container.uow() as uow:
        rows = await uow.session.scalars(
            select(AllowedSubscriberRow)
            .where(AllowedSubscriberRow.room == room.id)
            .order_by(AllowedSubscriberRow.subscriber_im, AllowedSubscriberRow.subscriber)
        )
        return [AllowedView(r.subscriber_im, r.added_by, r.added_at) for r in rows]


async def owner_allows(
    container: Container, principal: Principal, registered: Registered, room: Room, subsystem: str
) -> bool:
    """The room's own client allows the client standing for ``subsystem``."""
    require_manager(principal, room)
    subscriber = resolve_subscriber(registered, room, subsystem)
    return await allow_subscriber(
        container,
        room,
        subscriber,
        subsystem,
        actor=principal.audit_name,
        department=principal.department,
    )


async def owner_removes(
    container: Container, principal: Principal, registered: Registered, room: Room, subsystem: str
) -> None:
    """The room's own client takes the client standing for ``subsystem`` off its list."""
    require_manager(principal, room)
    subscriber = resolve_subscriber(registered, room, subsystem)
    await remove_subscriber(
        container, room, subscriber, actor=principal.audit_name, department=principal.department
    )
