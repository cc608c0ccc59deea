"""Names people read for the staff who acted (the directory's display names, ADR 0042)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.identity.tables import StaffRow


async def staff_names(session: AsyncSession, subjects: Iterable[str]) -> dict[str, str]:
    """Display names of the staff among ``subjects`` (one statement; others are left out)."""
    wanted = sorted({s for s in subjects if s})
    if not wanted:
        return {}
    rows = await session.execute(
        select(StaffRow.subject, StaffRow.display_name).where(StaffRow.subject.in_(wanted))
    )
    return {str(subject): str(name) for subject, name in rows}


async def staff_named(session: AsyncSession, name: str) -> str | None:
    """The subject of the one member of staff whose display name is ``name`` (any case); None
    when nobody or more than one person has that name (a search then keeps what was typed)."""
    wanted = name.strip().lower()
    if not wanted:
        return None
    rows = await session.execute(
        select(StaffRow.subject).where(func.lower(StaffRow.display_name) == wanted).limit(2)
    )
    found = [str(subject) for (subject,) in rows]
    return found[0] if len(found) == 1 else None
