"""Who receives a notification: the applicant (or the officers of a department), with their
addresses, language and preferred channels."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.notifications.domain import DEFAULT_CHANNELS, ChannelKind, Recipient
from civicloom.notifications.tables import PreferenceRow


@lru_cache(maxsize=4)
def directory(blueprints_dir: Path) -> dict[str, dict[str, Any]]:
    """Contact details of the demo people (``blueprints/demo/personas.yaml``), by id."""
    path = blueprints_dir / "demo" / "personas.yaml"
    if not path.is_file():
        return {}
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(p["id"]): dict(p) for p in raw.get("personas", [])}


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
    session: AsyncSession, blueprints_dir: Path, department: str | None, roles: frozenset[str]
) -> list[Recipient]:
    """The officers of a department holding one of ``roles`` (email and portal only)."""
    people = [
        pid
        for pid, p in directory(blueprints_dir).items()
        if department and p.get("department") == department and roles & set(p.get("roles", []))
    ]
    return [await recipient_for(session, blueprints_dir, pid) for pid in sorted(people)]
