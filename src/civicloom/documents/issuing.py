"""The case engine's ``issue_document`` step: issue the application's licence, exactly once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from civicloom.applications import (
    ClaimedStep,
    EventNote,
    StepHandler,
    find_application,
    record_case_change,
)
from civicloom.catalogue import (
    CERTIFICATE_TYPE,
    HolderSpec,
    document_retentions,
    get_blueprint_version,
    resolve,
)
from civicloom.departments import CallOutcome, CapabilityResult, PermanentError
from civicloom.documents.domain import Validity
from civicloom.documents.licences import issue_licence
from civicloom.documents.runtime import DocumentsRuntime
from civicloom.documents.tables import LicenceRow
from civicloom.outbox import EventType
from civicloom.runtime import Container

DEFAULT_VALID_YEARS = 1
EVENT_SOURCE = "urn:civicloom:documents"


def _output(row_id: str, runtime: DocumentsRuntime) -> dict[str, Any]:
    return {"licence_id": row_id, "verification_url": f"{runtime.public_url}/verify/{row_id}"}


def holder_of(
    declared: HolderSpec | None, applicant_id: str, data: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """Whom the licence names, and the premises it covers, as the blueprint's
    ``outputs.certificate.holder`` declares (``$.data`` references or constants).

    A version published before holders were declared (open-a-restaurant v1–v3, ADR 0030) keeps
    what its licences printed then, so an application pinned to it gets the same licence.
    """
    if declared is None:
        holder = {
            "name": data.get("business_name") or applicant_id,
            "registration_number": data.get("business_registration_number"),
        }
        return holder, str(data.get("premises_address") or data.get("new_address") or "")
    values = resolve(declared.model_dump(exclude_none=True), {"data": data})
    holder = {
        "name": values.get("name") or applicant_id,
        "registration_number": values.get("registration_number"),
    }
    return holder, str(values.get("address") or "")


def licence_step_handler(container: Container, runtime: DocumentsRuntime) -> StepHandler:
    """A step handler that issues the licence declared in the blueprint's ``outputs.certificate``.

    A retry after a crash finds the licence already issued for the application and returns it,
    so the applicant never gets two licences for one application.
    """

    async def issue(step: ClaimedStep) -> CapabilityResult:
        async with container.uow() as uow:
            session = uow.session
            existing = await session.scalar(
                select(LicenceRow.id).where(LicenceRow.application_id == step.application_id)
            )
            if existing is not None:
                return CapabilityResult(CallOutcome.COMPLETED, _output(existing, runtime))
            app = await find_application(session, step.application_id)
            if app is None:
                raise PermanentError(f"application {step.application_id} is gone")
            published = await get_blueprint_version(session, app.blueprint_version_id)
            assert published is not None
            certificate = published.blueprint.outputs.certificate
            title = published.blueprint.title.en
            if certificate is not None and certificate.title is not None:
                title = certificate.title.en
            years = (certificate.valid_years if certificate else None) or DEFAULT_VALID_YEARS
            holder, premises = holder_of(
                certificate.holder if certificate else None, app.applicant_id, app.data
            )
            now = container.clock.now()
            licence = await issue_licence(
                session,
                runtime,
                now,
                application_id=app.id,
                holder=holder,
                activity=title,
                premises=premises,
                validity=Validity(now, now + timedelta(days=365 * years)),
                issuing_department=step.department or published.blueprint.owner,
                actor="system:case-engine",
                retention=document_retentions(published.blueprint).get(CERTIFICATE_TYPE),
            )
            await record_case_change(
                session,
                app,
                now,
                event=EventNote(
                    EventType.LICENCE_ISSUED,
                    {
                        "licence_number": licence.id,
                        "document_url": f"{runtime.public_url}/api/v1/licences/{licence.id}.pdf",
                        "verification_url": licence.verification_url,
                    },
                    key=f"licence.issued:{licence.id}",
                    source=EVENT_SOURCE,
                ),
            )
            await uow.commit()
        return CapabilityResult(CallOutcome.COMPLETED, _output(licence.id, runtime))

    return issue
