"""Registering departments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.departments.domain import Department
from civicloom.departments.tables import DepartmentRow
from civicloom.kernel import LocalisedText


async def sync_departments(
    session: AsyncSession, departments: Sequence[Department], now: datetime
) -> int:
    """Insert or update departments from their definitions; returns how many changed."""
    changed = 0
    for dept in departments:
        definition = dept.model_dump(mode="json", by_alias=True)
        row = await session.get(DepartmentRow, dept.id)
        if row is None:
            session.add(
                DepartmentRow(
                    id=dept.id,
                    name_en=dept.name.en,
                    name_zh_hans=dept.name.zh_hans,
                    system=dept.system,
                    definition=definition,
                    updated_at=now,
                )
            )
            changed += 1
        elif row.definition != definition:
            row.name_en, row.name_zh_hans = dept.name.en, dept.name.zh_hans
            row.system, row.definition, row.updated_at = dept.system, definition, now
            changed += 1
    await session.flush()
    return changed


async def list_departments(session: AsyncSession) -> list[Department]:
    """Every registered department."""
    rows = await session.scalars(select(DepartmentRow).order_by(DepartmentRow.id))
    return [Department.model_validate(r.definition) for r in rows]


async def department_exists(session: AsyncSession, department_id: str) -> bool:
    """Whether a department with this id is registered."""
    return await session.get(DepartmentRow, department_id) is not None


async def department_names(session: AsyncSession) -> dict[str, LocalisedText]:
    """Every registered department's name, by id (one statement)."""
    rows = await session.scalars(select(DepartmentRow))
    return {r.id: LocalisedText(en=r.name_en, zh_hans=r.name_zh_hans) for r in rows}
