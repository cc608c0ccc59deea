"""Licences: issue (signed PDF), revoke, and verify online or offline."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications import find_application
from civicloom.audit import AuditAction, AuditRecord, PublicKeySet, SignatureInvalid, append_audit
from civicloom.catalogue import Retention
from civicloom.db import UnitOfWork
from civicloom.documents.domain import (
    LICENCE_TYPE,
    PDF,
    LicenceRef,
    LicenceStatus,
    LicenceVerification,
    Validity,
    assess_claims,
)
from civicloom.documents.pdf import render_licence_pdf
from civicloom.documents.register import revoke_in_unit
from civicloom.documents.runtime import DocumentsRuntime
from civicloom.documents.services import ReceivedFile, save_document
from civicloom.documents.tables import DocumentRow, LicenceRow
from civicloom.identity import STAFF_ROLES, Forbidden, Role, has_any_role
from civicloom.kernel import (
    Clock,
    FieldError,
    NotFound,
    Principal,
    ValidationFailed,
    new_reference,
    sha256_hex,
)

LICENCE_TOKEN_TYPE = "civicloom-licence+jwt"  # noqa: S105 - a JOSE type, not a secret


async def issue_licence(
    session: AsyncSession,
    runtime: DocumentsRuntime,
    now: datetime,
    *,
    application_id: str,
    holder: dict[str, Any],
    activity: str,
    premises: str,
    validity: Validity,
    issuing_department: str,
    actor: str,
    retention: Retention | None = None,
) -> LicenceRef:
    """Sign the licence, render its PDF into storage, record it and audit it (caller commits).

    Its PDF is kept for the certificate's declared ``retention`` after the end of its validity
    (ADR 0050), else ``CIVICLOOM_DOCUMENT_RETENTION_DAYS``."""
    if validity.valid_until <= validity.valid_from:
        raise ValidationFailed(
            [FieldError("validity", "order", "the licence must end after it starts")]
        )
    keyring = runtime.keyring()
    licence_id = new_reference("LIC", now)
    claims: dict[str, Any] = {
        "typ": "civicloom-licence",
        "jti": licence_id,
        "iss": runtime.public_url,
        "iat": int(now.timestamp()),
        "nbf": int(validity.valid_from.timestamp()),
        "exp": int(validity.valid_until.timestamp()),
        "holder": holder,
        "activity": activity,
        "premises": premises,
        "dept": issuing_department,
        "kid": keyring.kid,
    }
    token = keyring.sign(claims, typ=LICENCE_TOKEN_TYPE)
    url = f"{runtime.public_url}/verify/{licence_id}"
    pdf = render_licence_pdf(claims, token, url)
    received = ReceivedFile(
        f"licence-{licence_id}.pdf", PDF, len(pdf), sha256_hex(pdf), io.BytesIO(pdf)
    )
    document = await save_document(
        session,
        runtime.store,
        received,
        application_id=application_id,
        document_type=LICENCE_TYPE,
        retain_until=retention.after(validity.valid_until)
        if retention is not None
        else validity.valid_until + timedelta(days=runtime.retention_days),
        actor=actor,
        now=now,
    )
    session.add(
        LicenceRow(
            id=licence_id,
            application_id=application_id,
            holder=holder,
            activity=activity,
            premises=premises,
            issuing_department=issuing_department,
            valid_from=validity.valid_from,
            valid_until=validity.valid_until,
            kid=keyring.kid,
            token=token,
            document_id=document.id,
            issued_at=now,
        )
    )
    await session.flush()
    await append_audit(
        session,
        AuditRecord(
            actor=actor,
            action=AuditAction.LICENCE_ISSUED,
            subject_type="application",
            subject_id=application_id,
            occurred_at=now,
            department=issuing_department,
            purpose="issue licence",
            details={"licence_id": licence_id, "kid": keyring.kid, "document_id": document.id},
        ),
    )
    return LicenceRef(licence_id, application_id, document.id, token, url, validity)


REVOKER_ROLES = frozenset({Role.OFFICER.value, Role.SUPERVISOR.value})
"""Who revokes a licence (of their own department's issue): a decision on a case, not the
service owner's (who shapes the service) nor finance's."""


async def revoke_licence(
    uow: UnitOfWork, clock: Clock, principal: Principal, licence_id: str, reason: str
) -> None:
    """Officers and supervisors of the issuing department revoke a licence.

    Any other role (service owner, finance officer, operator, auditor, citizen) is refused
    (403); for officers of another department the licence is not theirs to act on (404)."""
    if not has_any_role(principal, REVOKER_ROLES):
        raise Forbidden("only the issuing department's officers and supervisors revoke licences")
    async with uow:
        await revoke_in_unit(uow, clock, principal, licence_id, reason)
        await uow.commit()


def verify_token_offline(token: str, keys: PublicKeySet, now: datetime) -> LicenceVerification:
    """Signature and validity only, with published keys: revocation is not known offline."""
    try:
        _, claims = keys.verify(token)
    except SignatureInvalid as exc:
        return LicenceVerification(LicenceStatus.FORGED, f"forged or altered: {exc}", None, False)
    return assess_claims(claims, now, revoked=None)


async def verify_token(
    uow: UnitOfWork, runtime: DocumentsRuntime, now: datetime, token: str
) -> LicenceVerification:
    """Signature, validity and revocation: a genuine token must also be one we issued."""
    offline = verify_token_offline(token, runtime.public_keys(), now)
    if offline.claims is None:
        return offline
    async with uow:
        row = await uow.session.get(LicenceRow, str(offline.claims.get("jti")))
    if row is None or row.token != token:
        return LicenceVerification(LicenceStatus.FORGED, "no such licence was issued")
    return assess_claims(offline.claims, now, revoked=row.revoked_at is not None)


async def verify_licence(
    uow: UnitOfWork, runtime: DocumentsRuntime, now: datetime, licence_id: str
) -> LicenceVerification:
    """What the public verification page says about a licence number."""
    async with uow:
        row = await uow.session.get(LicenceRow, licence_id)
    if row is None:
        raise NotFound(f"no licence {licence_id!r} was issued: treat the document as forged")
    return await verify_token(uow, runtime, now, row.token)


async def licence_pdf(
    uow: UnitOfWork, runtime: DocumentsRuntime, principal: Principal, licence_id: str
) -> bytes:
    """The licence PDF, for its holder (the applicant) or staff of the issuing department."""
    async with uow:
        row = await uow.session.get(LicenceRow, licence_id)
        application = await find_application(uow.session, row.application_id) if row else None
        document = await uow.session.get(DocumentRow, row.document_id) if row else None
    if row is None or application is None or document is None:
        raise NotFound(f"no licence {licence_id!r}")
    applicant = application.applicant_id == principal.subject
    staff = principal.department == row.issuing_department and has_any_role(principal, STAFF_ROLES)
    if not (applicant or staff):
        raise NotFound(f"no licence {licence_id!r}")
    return await runtime.store.get(document.storage_key)


async def licences_of_application(uow: UnitOfWork, application_id: str) -> list[str]:
    """Ids of the licences issued for an application."""
    async with uow:
        return list(
            await uow.session.scalars(
                select(LicenceRow.id).where(LicenceRow.application_id == application_id)
            )
        )
