"""Pub/sub use cases of a room's own client (ADR 0054): event types and publishing. Each opens a
unit of work, changes state, appends its audit entry and its outbox rows, and commits once.

Publishing writes the event, one delivery row per subscription and, for each PUSH subscription,
one outbox message (``internal.pubsub.deliver``) in one transaction; the worker's
``PushDeliverer`` posts it (``push.py``).
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit import AuditAction
from civicloom.govstack.pubsub.allowed import is_allowed, require_allowed
from civicloom.govstack.pubsub.domain import (
    BadRequest,
    DeliveryView,
    EventView,
    check_event_type,
)
from civicloom.govstack.pubsub.rooms import (
    PLATFORM_EVENT_TYPES,
    PLATFORM_ROOM,
    Room,
    audit_change,
    cancel_open_deliveries,
    event_type_row,
    event_view,
    hand_to_subscribers,
    require_manager,
    require_subscriber,
)
from civicloom.govstack.pubsub.tables import (
    DeliveryRow,
    EventTypeRow,
    PublishedEventRow,
    SubscriptionRow,
)
from civicloom.kernel import Conflict, FieldError, NotFound, Principal, new_id, sha256_hex
from civicloom.runtime import Container


async def create_event_type(
    container: Container, principal: Principal, room: Room, name: str, schema: dict[str, Any]
) -> None:
    """Register an event type and the JSON Schema its events must satisfy (409 if it exists)."""
    require_manager(principal, room)
    check_event_type(name)
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise BadRequest([FieldError("schema", "json-schema", exc.message[:300])]) from exc
    if regex := _regex_keyword(schema):
        raise BadRequest(
            [
                FieldError(
                    f"schema.{regex}",
                    "no-regular-expressions",
                    "event schemas may not use regular expressions (pattern, patternProperties,"
                    " format regex): a publisher's expression would run on every publish and a"
                    " slow one stalls the listener",
                )
            ]
        )
    now = container.clock.now()
    async with container.uow() as uow:
        if await event_type_row(uow.session, room.id, name) is not None:
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
        await audit_change(
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
    """The room's event types (its manager, or a client on the room's list)."""
    if not room.owned_by(principal):
        require_subscriber(principal)
    await require_allowed(container, principal, room, "list event types")
    async with container.uow() as uow:
        if room.id == PLATFORM_ROOM:
            return sorted(PLATFORM_EVENT_TYPES)
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
        require_subscriber(principal)
    check_event_type(name)
    await require_allowed(container, principal, room, "read an event type")
    async with container.uow() as uow:
        row = await event_type_row(uow.session, room.id, name)
        return None if row is None else {"eventType": row.event_type, "schema": row.schema}


async def delete_event_type(
    container: Container, principal: Principal, room: Room, name: str
) -> None:
    """Delete an event type: its subscriptions end and their open deliveries are cancelled."""
    require_manager(principal, room)
    check_event_type(name)
    now = container.clock.now()
    async with container.uow() as uow:
        row = await event_type_row(uow.session, room.id, name)
        if row is None:
            raise NotFound(f"no event type {name!r} in {room.id}")
        ids = list(
            await uow.session.scalars(
                select(SubscriptionRow.id).where(
                    SubscriptionRow.room == room.id, SubscriptionRow.event_type == name
                )
            )
        )
        cancelled = await cancel_open_deliveries(
            uow.session, now, DeliveryRow.subscription_id.in_(ids)
        )
        await uow.session.execute(delete(SubscriptionRow).where(SubscriptionRow.id.in_(ids)))
        await uow.session.delete(row)
        await audit_change(
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


def _regex_keyword(schema: Any, path: str = "") -> str | None:
    """Where a schema uses a regular expression (found by the attack review: a backtracking
    ``pattern`` took seconds per publish on the event loop), else None."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            here = f"{path}.{key}" if path else str(key)
            if key in ("pattern", "patternProperties") or (key == "format" and value == "regex"):
                return here
            if (found := _regex_keyword(value, here)) is not None:
                return found
    elif isinstance(schema, list):
        for i, item in enumerate(schema):
            if (found := _regex_keyword(item, f"{path}[{i}]")) is not None:
                return found
    return None


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
    require_manager(principal, room)
    check_event_type(name)
    body_hash = sha256_hex(json.dumps([name, event], sort_keys=True, separators=(",", ":")))
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
        kind = await event_type_row(session, room.id, name)
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
        subscriptions = [
            sub
            for sub in await session.scalars(
                select(SubscriptionRow).where(
                    SubscriptionRow.room == room.id, SubscriptionRow.event_type == name
                )
            )
            # a removed client's subscriptions end with its removal; this keeps a stray one
            # from ever receiving the room's events (ADR 0057)
            if await is_allowed(session, room, sub.subscriber)
        ]
        await hand_to_subscribers(session, row, subscriptions, now)
        await audit_change(
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
    require_manager(principal, room)
    async with container.uow() as uow:
        row = await _own_event(uow.session, principal, room, name, event_id)
        found = await uow.session.execute(
            select(DeliveryRow, SubscriptionRow.subscriber_im, SubscriptionRow.delivery)
            .outerjoin(SubscriptionRow, SubscriptionRow.id == DeliveryRow.subscription_id)
            .where(DeliveryRow.event_id == event_id)
            .order_by(DeliveryRow.subscription_id)
        )
        deliveries = [
            DeliveryView(
                subscriber_im=im,
                delivery=mode or "",  # "": the subscription ended since
                status=d.status,
                attempts=d.attempts,
                last_attempt_at=d.last_attempt_at,
                delivered_at=d.delivered_at,
                acknowledged_at=d.acknowledged_at,
                last_error=d.last_error,
            )
            for d, im, mode in found.all()
        ]
        return event_view(row), deliveries


async def cancel_event(
    container: Container, principal: Principal, room: Room, name: str, event_id: str
) -> None:
    """Stop processing an event: its open deliveries are cancelled (pushes not yet made are
    never made; a PULL subscriber no longer gets it)."""
    require_manager(principal, room)
    now = container.clock.now()
    async with container.uow() as uow:
        row = await _own_event(uow.session, principal, room, name, event_id)
        if row.cancelled_at is not None:
            return
        row.cancelled_at = now
        cancelled = await cancel_open_deliveries(uow.session, now, DeliveryRow.event_id == event_id)
        await audit_change(
            uow.session,
            principal,
            AuditAction.PUBSUB_EVENT_CANCELLED,
            "pubsub_event",
            event_id,
            now,
            {"room": room.id, "event_type": name, "deliveries_cancelled": cancelled},
        )
        await uow.commit()
