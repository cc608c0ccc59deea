"""Read models of the portal's pages, each in a fixed number of queries (no N+1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from civicloom.applications import ApplicationRow, ApplicationStatus, application_status
from civicloom.catalogue import Blueprint, BlueprintVersionRow, get_blueprint_version
from civicloom.db import UnitOfWork
from civicloom.departments import DepartmentRow
from civicloom.documents import DocumentRow, LicenceRow
from civicloom.kernel import Clock, LocalisedText, NotFound, Principal

READ_ATTEMPTS = 3


def _name(row: DepartmentRow) -> LocalisedText:
    return LocalisedText(en=row.name_en, zh_hans=row.name_zh_hans)


@dataclass(frozen=True)
class ApplicationSummary:
    """One line of "My applications"."""

    id: str
    reference: str
    service_title: LocalisedText
    state: str
    submitted_at: datetime
    updated_at: datetime
    deadline_at: datetime | None


async def my_applications(uow: UnitOfWork, principal: Principal) -> list[ApplicationSummary]:
    """The caller's applications, newest first, with their service titles (one query)."""
    async with uow:
        rows = await uow.session.execute(
            select(ApplicationRow, BlueprintVersionRow.document)
            .join(
                BlueprintVersionRow, BlueprintVersionRow.id == ApplicationRow.blueprint_version_id
            )
            .where(ApplicationRow.applicant_id == principal.subject)
            .order_by(ApplicationRow.submitted_at.desc())
        )
        return [
            ApplicationSummary(
                id=app.id,
                reference=app.reference,
                service_title=LocalisedText.model_validate(document["title"]),
                state=app.state,
                submitted_at=app.submitted_at,
                updated_at=app.updated_at,
                deadline_at=app.deadline_at,
            )
            for app, document in rows
        ]


@dataclass(frozen=True)
class ApplicationPage:
    """Everything the application page shows: status, steps, documents, fee and licence."""

    status: ApplicationStatus
    blueprint: Blueprint
    departments: dict[str, LocalisedText]
    documents: list[DocumentRow] = field(default_factory=list)
    licence: LicenceRow | None = None
    fee: dict[str, Any] | None = None
    open_request: str | None = None


async def application_page(
    uow_factory: Any, clock: Clock, principal: Principal, application_id: str
) -> ApplicationPage:
    """The applicant's view of one application (NotFound for anyone else's)."""
    for attempt in range(READ_ATTEMPTS):
        try:
            status = await application_status(uow_factory(), clock, principal, application_id)
            break
        except IntegrityError:
            # The audited read raced a worker appending to the same audit chain (seen on
            # SQLite); the read has no other effect, so reading again is safe.
            if attempt == READ_ATTEMPTS - 1:
                raise
    uow: UnitOfWork = uow_factory()
    async with uow:
        session = uow.session
        published = await get_blueprint_version(session, status.application.blueprint_version_id)
        assert published is not None
        decisions = await session.scalar(
            select(ApplicationRow.decisions).where(ApplicationRow.id == application_id)
        )
        documents = list(
            await session.scalars(
                select(DocumentRow)
                .where(
                    DocumentRow.application_id == application_id, DocumentRow.purged_at.is_(None)
                )
                .order_by(DocumentRow.uploaded_at)
            )
        )
        licence = await session.scalar(
            select(LicenceRow)
            .where(LicenceRow.application_id == application_id)
            .order_by(LicenceRow.issued_at.desc())
            .limit(1)
        )
        departments = {row.id: _name(row) for row in await session.scalars(select(DepartmentRow))}
    requests = [e.message for e in status.timeline if e.event == "information.requested"]
    waiting = status.application.state.value == "awaiting_applicant"
    fee = (decisions or {}).get("fees")
    return ApplicationPage(
        status=status,
        blueprint=published.blueprint,
        departments=departments,
        documents=documents,
        licence=licence,
        fee=fee if isinstance(fee, dict) else None,
        open_request=requests[-1] if waiting and requests else None,
    )


async def department_names(uow: UnitOfWork) -> dict[str, LocalisedText]:
    """Every department's name, by id (one query)."""
    async with uow:
        return {row.id: _name(row) for row in await uow.session.scalars(select(DepartmentRow))}


async def check_owner(uow: UnitOfWork, principal: Principal, application_id: str) -> None:
    """NotFound unless the application is the caller's (before acting on a form)."""
    async with uow:
        owner = await uow.session.scalar(
            select(ApplicationRow.applicant_id).where(ApplicationRow.id == application_id)
        )
    if owner is None or owner != principal.subject:
        raise NotFound(f"no application {application_id!r} for this applicant")
