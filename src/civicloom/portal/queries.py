"""Read models of the portal's pages, each in a fixed number of queries (no N+1)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications import (
    ApplicationStatus,
    application_status,
    applications_of_applicant,
    find_application,
)
from civicloom.catalogue import Blueprint, get_blueprint_version
from civicloom.db import UnitOfWork, id_batches
from civicloom.departments import department_names as registered_department_names
from civicloom.documents import (
    DocumentRef,
    IssuedLicence,
    application_documents,
    latest_licence,
)
from civicloom.kernel import (
    Clock,
    Cursor,
    LocalisedText,
    NotFound,
    Page,
    Principal,
    SignedCursors,
)
from civicloom.portal.tables import DraftRow

READ_ATTEMPTS = 3


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


async def my_applications(
    uow: UnitOfWork, principal: Principal, cursor: str | None = None
) -> Page[ApplicationSummary]:
    """A page of the caller's applications, newest first, with their service titles; ``cursor``
    is a neighbouring page's (bad input naming ``cursor`` when it is not one)."""
    position = None if cursor in (None, "") else Cursor.decode(str(cursor))
    async with uow:
        found = await applications_of_applicant(uow.session, principal.subject, position)
    return Page(
        [
            ApplicationSummary(
                id=app.id,
                reference=app.reference,
                service_title=LocalisedText.model_validate(app.service_title),
                state=app.state,
                submitted_at=app.submitted_at,
                updated_at=app.updated_at,
                deadline_at=app.deadline_at,
            )
            for app in found.items
        ],
        found.next,
        found.previous,
    )


@dataclass(frozen=True)
class ApplicationPage:
    """Everything the application page shows: status, steps, documents, fee and licence."""

    status: ApplicationStatus
    blueprint: Blueprint
    departments: dict[str, LocalisedText]
    documents: list[DocumentRef] = field(default_factory=list)
    licence: IssuedLicence | None = None
    fee: dict[str, Any] | None = None
    open_request: str | None = None  # the newest open question (kept for the e-mail's words)
    # every step waiting for the applicant with its department and latest question: each is
    # answered on its own, so an answer reaches only the department that asked
    open_requests: list[OpenRequest] = field(default_factory=list)


@dataclass(frozen=True)
class OpenRequest:
    """A department's question the applicant has yet to answer."""

    step_id: str
    department: str | None
    message: str


async def application_page(
    uow_factory: Any,
    clock: Clock,
    principal: Principal,
    application_id: str,
    cursors: SignedCursors | None = None,
    cursor: str | None = None,
) -> ApplicationPage:
    """The applicant's view of one application (NotFound for anyone else's) with the newest
    page of its timeline, or the page ``cursor`` names (InvalidCursor for one that is not this
    application's: ``application_status``)."""
    for attempt in range(READ_ATTEMPTS):
        try:
            status = await application_status(
                uow_factory(), clock, principal, application_id, cursors, cursor
            )
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
        documents = await application_documents(session, application_id)
        licence = await latest_licence(session, application_id)
        departments = await registered_department_names(session)
    waiting = status.application.state.value == "awaiting_applicant"
    # the questions come from the steps, not the timeline: a page of it may not hold them
    open_requests = [
        OpenRequest(s.step_id, s.department, s.open_request)
        for s in status.steps
        if s.state.value == "awaiting_applicant" and s.open_request is not None
    ]
    requests = [r.message for r in open_requests]
    fee = status.fee
    return ApplicationPage(
        status=status,
        blueprint=published.blueprint,
        departments=departments,
        documents=documents,
        licence=licence,
        fee=fee if isinstance(fee, dict) else None,
        open_request=requests[-1] if waiting and requests else None,
        open_requests=open_requests,
    )


async def department_names(uow: UnitOfWork) -> dict[str, LocalisedText]:
    """Every department's name, by id (one query)."""
    async with uow:
        return await registered_department_names(uow.session)


async def check_owner(uow: UnitOfWork, principal: Principal, application_id: str) -> None:
    """NotFound unless the application is the caller's (before acting on a form)."""
    async with uow:
        application = await find_application(uow.session, application_id)
    if application is None or application.applicant_id != principal.subject:
        raise NotFound(f"no application {application_id!r} for this applicant")


async def prefilled_sources(
    session: AsyncSession, application_ids: Collection[str]
) -> dict[str, dict[str, str]]:
    """For each application sent from a draft: which field was prefilled from which
    department (one statement per thousand applications)."""
    sources: dict[str, dict[str, str]] = {}
    for batch in id_batches(application_ids):
        rows = await session.execute(
            select(DraftRow.application_id, DraftRow.prefilled).where(
                DraftRow.application_id.in_(batch)
            )
        )
        for app_id, prefilled in rows:
            sources[str(app_id)] = {
                name: str(source.get("department", ""))
                for name, source in (prefilled or {}).items()
            }
    return sources
