"""Publishing blueprint versions and finding the one an application uses."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.catalogue.domain import (
    BlueprintStatus,
    BlueprintVersionView,
    PublishedBlueprint,
)
from civicloom.catalogue.ownership import require_ownership
from civicloom.catalogue.spec import Blueprint
from civicloom.catalogue.tables import BlueprintVersionRow
from civicloom.db import UnitOfWork
from civicloom.departments import department_exists, department_names
from civicloom.kernel import Clock, Conflict, FieldError, NotFound, ValidationFailed, new_id

VALIDATED_VERSIONS = 1024
"""How many validated blueprint versions a process keeps (a stored version never changes)."""
_validated: OrderedDict[tuple[str, str], Blueprint] = OrderedDict()


def validated(
    version_id: str, content_hash: str, document: Callable[[], dict[str, Any]]
) -> Blueprint:
    """The version's blueprint, validated once per process: a published version is immutable
    (its content hash is part of the key), so a request never validates it again (issue 23)."""
    key = (version_id, content_hash)
    found = _validated.get(key)
    if found is not None:
        _validated.move_to_end(key)
        return found
    blueprint = Blueprint.model_validate(document())
    _validated[key] = blueprint
    while len(_validated) > VALIDATED_VERSIONS:
        _validated.popitem(last=False)
    return blueprint


def _to_domain(row: BlueprintVersionRow) -> PublishedBlueprint:
    return PublishedBlueprint(
        version_id=row.id,
        status=BlueprintStatus(row.status),
        content_hash=row.content_hash,
        blueprint=validated(row.id, row.content_hash, lambda: row.document),
    )


async def publish_blueprint(
    session: AsyncSession, blueprint: Blueprint, now: datetime, *, actor: str
) -> tuple[PublishedBlueprint, bool]:
    """Publish a version; republishing identical content is a no-op, changed content a conflict.

    A new version is audited (``blueprint.published`` by ``actor``) in the caller's transaction.
    Returns the stored version and whether it was newly published.
    """
    if not await department_exists(session, blueprint.owner):
        raise ValidationFailed(
            [FieldError("owner", "known-department", f"unknown department {blueprint.owner!r}")]
        )
    digest = blueprint.content_hash()
    existing = await session.scalar(
        select(BlueprintVersionRow).where(
            BlueprintVersionRow.service_id == blueprint.id,
            BlueprintVersionRow.version == blueprint.version,
        )
    )
    if existing is not None:
        if existing.content_hash != digest:
            raise Conflict(
                f"{blueprint.id} version {blueprint.version} is published and immutable; "
                "raise the version number to change it"
            )
        return _to_domain(existing), False
    row = BlueprintVersionRow(
        id=new_id(),
        service_id=blueprint.id,
        version=blueprint.version,
        status=BlueprintStatus.PUBLISHED.value,
        owner_department=blueprint.owner,
        content_hash=digest,
        document=blueprint.document(),
        created_at=now,
        published_at=now,
    )
    session.add(row)
    await session.flush()
    await append_audit(
        session,
        AuditRecord(
            actor=actor,
            action=AuditAction.BLUEPRINT_PUBLISHED,
            subject_type="blueprint",
            subject_id=row.id,
            occurred_at=now,
            department=blueprint.owner,
            details={
                "service": blueprint.id,
                "version": blueprint.version,
                "content_hash": digest,
            },
        ),
    )
    return _to_domain(row), True


async def get_current_blueprint(
    session: AsyncSession, service_id: str
) -> PublishedBlueprint | None:
    """The newest published version of a service, which new applications start on."""
    row = await session.scalar(
        select(BlueprintVersionRow)
        .where(
            BlueprintVersionRow.service_id == service_id,
            BlueprintVersionRow.status == BlueprintStatus.PUBLISHED.value,
        )
        .order_by(BlueprintVersionRow.version.desc())
        .limit(1)
    )
    return None if row is None else _to_domain(row)


async def get_blueprint_version(
    session: AsyncSession, version_id: str
) -> PublishedBlueprint | None:
    """A specific stored version (the one an application is pinned to)."""
    row = await session.get(BlueprintVersionRow, version_id)
    return None if row is None else _to_domain(row)


async def list_current_blueprints(session: AsyncSession) -> list[PublishedBlueprint]:
    """The newest published version of every service: one statement reading the versions'
    keys (not their documents) when every newest version is already validated, plus one for
    the documents of those that are not."""
    rows = await session.execute(
        select(
            BlueprintVersionRow.id,
            BlueprintVersionRow.service_id,
            BlueprintVersionRow.content_hash,
        )
        .where(BlueprintVersionRow.status == BlueprintStatus.PUBLISHED.value)
        .order_by(BlueprintVersionRow.service_id, BlueprintVersionRow.version.desc())
    )
    newest: dict[str, tuple[str, str]] = {}
    for version_id, service_id, content_hash in rows:
        newest.setdefault(service_id, (version_id, content_hash))
    missing = [v for v, h in newest.values() if (v, h) not in _validated]
    documents: dict[str, dict[str, Any]] = {}
    if missing:
        loaded = await session.execute(
            select(BlueprintVersionRow.id, BlueprintVersionRow.document).where(
                BlueprintVersionRow.id.in_(missing)
            )
        )
        documents = {str(i): dict(d) for i, d in loaded}
    return [
        PublishedBlueprint(
            version_id=version_id,
            status=BlueprintStatus.PUBLISHED,
            content_hash=content_hash,
            blueprint=validated(
                version_id, content_hash, partial(documents.__getitem__, version_id)
            ),
        )
        for version_id, content_hash in newest.values()
    ]


async def retire_blueprint(
    session: AsyncSession, service_id: str, version: int, now: datetime, *, actor: str
) -> PublishedBlueprint:
    """Retire a published version: running applications keep it; new ones cannot start on it.

    Audited (``blueprint.retired`` by ``actor``) in the caller's transaction.
    """
    row = await session.scalar(
        select(BlueprintVersionRow).where(
            BlueprintVersionRow.service_id == service_id, BlueprintVersionRow.version == version
        )
    )
    if row is None:
        raise NotFound(f"no version {version} of service {service_id!r}")
    if row.status != BlueprintStatus.PUBLISHED.value:
        raise Conflict(
            f"{service_id} version {version} is {row.status}; only published versions retire"
        )
    row.status = BlueprintStatus.RETIRED.value
    await session.flush()
    await append_audit(
        session,
        AuditRecord(
            actor=actor,
            action=AuditAction.BLUEPRINT_RETIRED,
            subject_type="blueprint",
            subject_id=row.id,
            occurred_at=now,
            department=row.owner_department,
            details={"service": service_id, "version": version, "content_hash": row.content_hash},
        ),
    )
    return _to_domain(row)


async def list_blueprint_versions(
    session: AsyncSession, owner_department: str | None = None
) -> list[BlueprintVersionView]:
    """Every stored version (of one owner department's services if given), newest first per
    service."""
    query = select(BlueprintVersionRow).order_by(
        BlueprintVersionRow.service_id, BlueprintVersionRow.version.desc()
    )
    if owner_department is not None:
        query = query.where(BlueprintVersionRow.owner_department == owner_department)
    return [
        BlueprintVersionView(
            id=r.id,
            service_id=r.service_id,
            version=r.version,
            status=r.status,
            owner_department=r.owner_department,
            content_hash=r.content_hash,
            document=dict(r.document),
            created_at=r.created_at,
            published_at=r.published_at,
        )
        for r in await session.scalars(query)
    ]


async def version_titles(
    session: AsyncSession, version_ids: Iterable[str]
) -> dict[str, dict[str, str]]:
    """The service title of each named blueprint version: from the validated versions this
    process holds, and one statement reading only the titles of the others (a list of
    applications carries each distinct version's title once, not its document per row)."""
    wanted = set(version_ids)
    titles = {
        version_id: blueprint.title.model_dump(by_alias=True)
        for (version_id, _hash), blueprint in list(_validated.items())
        if version_id in wanted
    }
    missing = wanted - titles.keys()
    if missing:
        rows = await session.execute(
            select(BlueprintVersionRow.id, BlueprintVersionRow.document["title"]).where(
                BlueprintVersionRow.id.in_(sorted(missing))
            )
        )
        titles.update({str(i): dict(t or {}) for i, t in rows})
    return titles


def blueprint_title_of(
    version_id: ColumnElement[str] | QueryableAttribute[str],
) -> ScalarSelect[Any]:
    """The title of the blueprint version ``version_id`` names, as a correlated scalar subquery.

    Another module's list query selects it to carry the service title in the same statement
    without reading this module's table (ADR 0027).
    """
    return (
        select(BlueprintVersionRow.document["title"])
        .where(BlueprintVersionRow.id == version_id)
        .scalar_subquery()
    )


async def publish_service_version(
    uow: UnitOfWork, clock: Clock, blueprint: Blueprint, *, actor: str
) -> tuple[PublishedBlueprint, bool]:
    """Publish a blueprint version as one transaction, audited (``civicloom blueprint publish``).

    Refused (422 naming each field and rule) when a form field or document type does not
    declare its owner, data class, legal basis and retention (ADR 0050)."""
    async with uow:
        require_ownership(blueprint, frozenset(await department_names(uow.session)))
        published = await publish_blueprint(uow.session, blueprint, clock.now(), actor=actor)
        await uow.commit()
    return published


async def retire_service_version(
    uow: UnitOfWork, clock: Clock, service_id: str, version: int, *, actor: str
) -> PublishedBlueprint:
    """Retire a published version as one transaction, audited (``civicloom blueprint retire``)."""
    async with uow:
        retired = await retire_blueprint(uow.session, service_id, version, clock.now(), actor=actor)
        await uow.commit()
    return retired
