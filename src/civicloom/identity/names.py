"""Names people read for the staff who acted (the directory's display names, ADR 0042)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
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
