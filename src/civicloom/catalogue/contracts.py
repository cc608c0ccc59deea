"""Reading the capability catalogue, and refusing contract changes that break services.

A department publishes its capability contracts by registering its definition (``civicloom
departments sync``, ``demo load``): they are checked first against every published blueprint
version, and a change that would break one is refused with nothing written (ADR 0051). A
blueprint is checked against the contracts when it is validated (``civicloom blueprint
validate``: ``missing-input``, ``unknown-output``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.catalogue.capabilities import (
    CapabilityTerms,
    CatalogueEntry,
    capability_terms,
    catalogue_entries,
    contract_breaks,
    refuse_breaks,
)
from civicloom.catalogue.domain import BlueprintStatus
from civicloom.catalogue.services import validated
from civicloom.catalogue.spec import Blueprint
from civicloom.catalogue.tables import BlueprintVersionRow
from civicloom.db import UnitOfWork
from civicloom.departments import Department, list_departments, sync_departments
from civicloom.kernel import Clock, NotFound


async def published_blueprints(session: AsyncSession) -> list[Blueprint]:
    """Every published version of every service (running applications are pinned to them)."""
    rows = await session.scalars(
        select(BlueprintVersionRow)
        .where(BlueprintVersionRow.status == BlueprintStatus.PUBLISHED.value)
        .order_by(BlueprintVersionRow.service_id, BlueprintVersionRow.version)
    )
    return [validated(row.id, row.content_hash, partial(getattr, row, "document")) for row in rows]


def _contracts(departments: Sequence[Department]) -> dict[str, CapabilityTerms]:
    return {terms.id: terms for d in departments for terms in capability_terms(d)}


async def capability_catalogue(session: AsyncSession) -> list[CatalogueEntry]:
    """Every registered capability with its contract, terms and the services that use it."""
    return catalogue_entries(await list_departments(session), await published_blueprints(session))


async def capability_entry(session: AsyncSession, capability_id: str) -> CatalogueEntry:
    """One registered capability; NotFound if no department declares it."""
    for entry in await capability_catalogue(session):
        if entry.id == capability_id:
            return entry
    raise NotFound(f"no department declares the capability {capability_id!r}")


async def check_department_contracts(
    session: AsyncSession, departments: Sequence[Department]
) -> None:
    """ValidationFailed if these departments' contracts would break a published service."""
    breaks = contract_breaks(_contracts(departments), await published_blueprints(session))
    refuse_breaks(breaks, "a capability contract change would break published services")


async def register_department_contracts(
    uow: UnitOfWork, clock: Clock, departments: Sequence[Department]
) -> int:
    """Register departments (as ``register_departments``) after checking that their capability
    contracts break no published service; nothing is written when one would."""
    async with uow:
        await check_department_contracts(uow.session, departments)
        changed = await sync_departments(uow.session, departments, clock.now())
        await uow.commit()
    return changed
