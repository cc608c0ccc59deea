"""The platform's case events in its own room (ADR 0057): a worker subscriber relays each
public case event from the outbox into ``PLATFORM_ROOM`` (one event type per outbox type).

In one transaction, before the outbox message is acknowledged: the event (keyed by the outbox
message, so a retry publishes nothing twice), one delivery per subscription whose client is on
the room's list **and** whose department has a step in the blueprint version the application
is pinned to, and an outbox message per PUSH one. The payload is minimised: reference, service,
state, the event's step (if any) and time — no applicant, no answers.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from civicloom.applications import find_application
from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.catalogue import get_blueprint_version
from civicloom.govstack.pubsub.allowed import is_allowed
from civicloom.govstack.pubsub.rooms import (
    PLATFORM_PUBLISHER,
    PLATFORM_ROOM,
    Room,
    event_type_row,
    hand_to_subscribers,
)
from civicloom.govstack.pubsub.tables import (
    PublishedEventRow,
    SubscriptionRow,
)
from civicloom.kernel import new_id, sha256_hex
from civicloom.outbox import CASE_EVENTS_ROOM, EventType, OutboxMessage
from civicloom.runtime import Container

BRIDGED = frozenset(
    {
        EventType.APPLICATION_SUBMITTED,
        EventType.APPLICATION_APPROVED,
        EventType.APPLICATION_REJECTED,
        EventType.APPLICATION_WITHDRAWN,
        EventType.APPLICATION_FAILED,
        EventType.LICENCE_ISSUED,
    }
)


def room_event_type(topic: str) -> str:
    """``civicloom.application.submitted`` → ``application.submitted``."""
    return topic.removeprefix("civicloom.")


class CaseEventBridge:
    """The worker's subscriber publishing case events into the platform's room."""

    name = CASE_EVENTS_ROOM
    handles = BRIDGED

    def __init__(self, container: Container) -> None:
        self.container = container

    async def __call__(self, message: OutboxMessage) -> float | None:
        """Publish one case event to the departments that may see it (idempotent)."""
        if message.topic not in {t.value for t in BRIDGED}:
            return None
        data = message.payload.get("data", {})
        application_id = str(data.get("application_id") or message.payload.get("subject") or "")
        name = room_event_type(message.topic)
        # the outbox message's own unique key (digested to fit), never its row id: SQLite reuses
        # a purged row's id, which would make a new case event look already published
        key = f"outbox:{sha256_hex(message.key.encode())}"
        now = self.container.clock.now()
        room = Room(PLATFORM_ROOM, "")
        async with self.container.uow() as uow:
            session = uow.session
            if await session.scalar(
                select(PublishedEventRow.id).where(
                    PublishedEventRow.publisher == PLATFORM_PUBLISHER,
                    PublishedEventRow.idempotency_key == key,
                )
            ):
                return None
            application = await find_application(session, application_id)
            if application is None:
                return None
            pinned = await get_blueprint_version(session, application.blueprint_version_id)
            departments = (
                {s.department for s in pinned.blueprint.steps if s.department}
                if pinned is not None
                else set()
            )
            await event_type_row(session, PLATFORM_ROOM, name)  # exists from the start
            payload = {
                "reference": application.reference,
                "service": application.service_id,
                # the state the event reports, not the one the case has reached by now
                "state": name.removeprefix("application.")
                if name.startswith("application.")
                else application.state,
                "occurredAt": str(message.payload.get("time") or now.isoformat()),
            }
            event_id = new_id()
            row = PublishedEventRow(
                id=event_id,
                room=PLATFORM_ROOM,
                event_type=name,
                publisher=PLATFORM_PUBLISHER,
                publisher_im=PLATFORM_ROOM,
                payload=payload,
                idempotency_key=key,
                body_hash=sha256_hex(json.dumps([name, payload], sort_keys=True)),
                published_at=now,
            )
            session.add(row)
            await session.flush()
            receivers = [
                sub
                for sub in await session.scalars(
                    select(SubscriptionRow).where(
                        SubscriptionRow.room == PLATFORM_ROOM, SubscriptionRow.event_type == name
                    )
                )
                if sub.subscriber_department in departments
                and await is_allowed(session, room, sub.subscriber)
            ]
            await hand_to_subscribers(session, row, receivers, now)
            await append_audit(
                session,
                AuditRecord(
                    actor=PLATFORM_PUBLISHER,
                    action=AuditAction.PUBSUB_EVENT_PUBLISHED,
                    subject_type="pubsub_event",
                    subject_id=event_id,
                    occurred_at=now,
                    details={
                        "room": PLATFORM_ROOM,
                        "event_type": name,
                        "application": application.reference,
                        "subscriptions": len(receivers),
                    },
                ),
            )
            await uow.commit()
        return None
