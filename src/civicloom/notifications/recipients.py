"""Who receives a notification: the applicant (or the officers of a department), with their
addresses, language and preferred channels."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.identity import department_staff
from civicloom.notifications.domain import DEFAULT_CHANNELS, ChannelKind, Recipient
from civicloom.notifications.tables import PreferenceRow


@lru_cache(maxsize=4)
def directory(blueprints_dir: Path) -> dict[str, dict[str, Any]]:
    """Contact details of the demo citizens (``blueprints/demo/personas.yaml``), by id; staff
    are read from the staff directory (``officers_for``)."""
    path = blueprints_dir / "demo" / "personas.yaml"
    if not path.is_file():
        return {}
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(p["id"]): dict(p) for p in raw.get("personas", [])}


STAFF_CHANNELS = (ChannelKind.EMAIL,)  # staff have no portal inbox


def _channels(values: Any) -> tuple[ChannelKind, ...]:
    known = {c.value for c in ChannelKind}
    chosen = tuple(ChannelKind(v) for v in values or () if v in known)
    return chosen or DEFAULT_CHANNELS


async def recipient_for(
    session: AsyncSession,
    blueprints_dir: Path,
    subject: str,
    application_data: dict[str, Any] | None = None,
) -> Recipient:
    """A person's contact: the application's ``contact_email`` first, then their stored
    preferences, then the directory."""
    known = directory(blueprints_dir).get(subject, {})
    preference = await session.get(PreferenceRow, subject)
    data = application_data or {}
    email = data.get("contact_email") or (preference.email if preference else None)
    phone = preference.phone if preference and preference.phone else known.get("phone")
    return Recipient(
        subject=subject,
        email=str(email or known.get("email") or "") or None,
        phone=str(phone) if phone else None,
        locale=(preference.locale if preference else None) or known.get("locale") or "en",
        channels=_channels(preference.channels if preference else known.get("preferred_channels")),
    )


async def officers_for(
    session: AsyncSession, today: date, department: str | None, roles: frozenset[str]
) -> list[Recipient]:
    """The staff of a department holding one of ``roles`` today, from the staff directory
    (ADR 0042): acting-up and delegated roles count, anyone on leave or who delegated their
    work is left out. E-mail in their language, unless they chose their channels."""
    if not department:
        return []
    staff = await department_staff(session, department, today)
    people = sorted((m for m in staff.values() if roles & m.roles), key=lambda m: m.id)
    recipients = []
    for member in people:
        preference = await session.get(PreferenceRow, member.id)
        recipients.append(
            Recipient(
                subject=member.id,
                email=(preference.email if preference else None) or member.email,
                locale=(preference.locale if preference else None) or member.locale,
                channels=_channels(preference.channels) if preference else STAFF_CHANNELS,
            )
        )
    return recipients
