"""A person's notification preferences and their portal inbox."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.kernel import EMAIL_PATTERN, FieldError, Principal, ValidationFailed
from civicloom.notifications.domain import ChannelKind, DeliveryStatus
from civicloom.notifications.recipients import recipient_for
from civicloom.notifications.tables import DeliveryRow, PreferenceRow
from civicloom.runtime import Container

LOCALES = ("en", "zh-Hans")
PHONE_PATTERN = r"^\+[0-9]{6,15}$"
_EMAIL = re.compile(EMAIL_PATTERN)
_PHONE = re.compile(PHONE_PATTERN)


@dataclass(frozen=True)
class Preferences:
    """Where and in which language a person wants to hear from the platform."""

    email: str | None
    phone: str | None
    locale: str
    channels: list[str]


@dataclass(frozen=True)
class InboxItem:
    """A message in the portal inbox."""

    id: str
    application_id: str | None
    subject: str
    body: str
    at: datetime


async def read_preferences(container: Container, principal: Principal) -> Preferences:
    """The caller's effective preferences (stored, or from the directory)."""
    async with container.uow() as uow:
        r = await recipient_for(uow.session, container.settings.blueprints_dir, principal.subject)
    return Preferences(r.email, r.phone, r.locale, [c.value for c in r.channels])


async def set_preferences(
    container: Container, principal: Principal, wanted: Preferences
) -> Preferences:
    """Store the caller's preferences (checked: a channel needs its address)."""
    errors = []
    if wanted.locale not in LOCALES:
        errors.append(FieldError("locale", "enum", f"one of {', '.join(LOCALES)}"))
    known = {c.value for c in ChannelKind}
    if not wanted.channels or any(c not in known for c in wanted.channels):
        errors.append(FieldError("channels", "enum", f"one or more of {', '.join(known)}"))
    if wanted.email and (len(wanted.email) > 320 or not _EMAIL.match(wanted.email)):
        errors.append(FieldError("email", "pattern", "an e-mail address like name@example.org"))
    if wanted.phone and not _PHONE.match(wanted.phone):
        errors.append(FieldError("phone", "pattern", "a phone number like +4915550100"))
    if ChannelKind.SMS.value in wanted.channels and not wanted.phone:
        errors.append(FieldError("phone", "required", "SMS needs a phone number"))
    if ChannelKind.EMAIL.value in wanted.channels and not wanted.email:
        errors.append(FieldError("email", "required", "email needs an address"))
    if errors:
        raise ValidationFailed(errors)
    async with container.uow() as uow:
        row = await uow.session.get(PreferenceRow, principal.subject)
        if row is None:
            row = PreferenceRow(subject=principal.subject)
            uow.session.add(row)
        row.email, row.phone, row.locale = wanted.email, wanted.phone, wanted.locale
        row.channels, row.updated_at = list(wanted.channels), container.clock.now()
        await append_audit(
            uow.session,
            AuditRecord(
                actor=principal.audit_name,
                action=AuditAction.PREFERENCES_CHANGED,
                subject_type="person",
                subject_id=principal.subject,
                occurred_at=row.updated_at,
                purpose="notification preferences",
                # which channels and language, never the addresses themselves
                details={"channels": sorted(wanted.channels), "locale": wanted.locale},
            ),
        )
        await uow.commit()
    return wanted


async def inbox(container: Container, principal: Principal, limit: int = 50) -> list[InboxItem]:
    """The caller's portal messages, newest first."""
    async with container.uow() as uow:
        rows = await uow.session.scalars(
            select(DeliveryRow)
            .where(
                DeliveryRow.recipient_id == principal.subject,
                DeliveryRow.channel == ChannelKind.PORTAL.value,
                DeliveryRow.status == DeliveryStatus.DELIVERED.value,
            )
            .order_by(DeliveryRow.created_at.desc())
            .limit(limit)
        )
        return [
            InboxItem(r.id, r.application_id, r.subject, r.body_text, r.created_at) for r in rows
        ]


async def hand_over_inbox(
    session: AsyncSession, application_id: str, from_recipient: str, to_recipient: str
) -> int:
    """Give ``to_recipient`` the portal messages about one application that were addressed to
    ``from_recipient`` (a counter stand-in, ADR 0044), in the caller's transaction (the take-over
    is its audit entry). Only that application's messages move; returns how many."""
    rows = list(
        await session.scalars(
            select(DeliveryRow).where(
                DeliveryRow.application_id == application_id,
                DeliveryRow.recipient_id == from_recipient,
                DeliveryRow.channel == ChannelKind.PORTAL.value,
            )
        )
    )
    if not rows:
        return 0
    held = set(
        await session.scalars(
            select(DeliveryRow.source_key).where(
                DeliveryRow.source_key.in_([r.source_key for r in rows]),
                DeliveryRow.recipient_id == to_recipient,
                DeliveryRow.channel == ChannelKind.PORTAL.value,
            )
        )
    )
    moved = [r for r in rows if r.source_key not in held]  # never the same message twice
    for row in moved:
        row.recipient_id = to_recipient
        row.address = to_recipient
    return len(moved)
