"""Registering departments: the use case ``civicloom departments sync`` and the demo load call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.db import UnitOfWork
from civicloom.departments.domain import Department
from civicloom.departments.tables import DepartmentRow
from civicloom.kernel import Clock, LocalisedText, canonical_json, sha256_hex

SYNC_ACTOR = "system:departments"


async def sync_departments(
    session: AsyncSession, departments: Sequence[Department], now: datetime
) -> int:
    """Insert or update departments from their definitions, each change audited, in the caller's
    transaction; returns how many were new or changed (unchanged ones are left alone)."""
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
        elif row.definition != definition:
            row.name_en, row.name_zh_hans = dept.name.en, dept.name.zh_hans
            row.system, row.definition, row.updated_at = dept.system, definition, now
        else:
            continue
        changed += 1
        await append_audit(
            session,
            AuditRecord(
                actor=SYNC_ACTOR,
                action=AuditAction.DEPARTMENT_REGISTERED,
                subject_type="department",
                subject_id=dept.id,
                occurred_at=now,
                department=dept.id,
                details={"content_hash": sha256_hex(canonical_json(definition))},
            ),
        )
    await session.flush()
    return changed


async def register_departments(
    uow: UnitOfWork, clock: Clock, departments: Sequence[Department]
) -> int:
    """Register (or update) departments from their definitions in one transaction; returns how
    many were new or changed. Safe to repeat: the same definitions change nothing."""
    async with uow:
        changed = await sync_departments(uow.session, departments, clock.now())
        await uow.commit()
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
