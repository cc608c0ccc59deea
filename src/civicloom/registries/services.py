"""Use cases of the registries module: agreements stored, consent granted and revoked,
representation checked, every reuse recorded.

Each use case that owns a transaction opens the unit of work, changes state, appends its
audit entry and commits once; the ``record_*`` helpers join the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.catalogue import DataSharingAgreement
from civicloom.db import UnitOfWork
from civicloom.kernel import Clock, NotFound, Principal, canonical_json, new_id, sha256_hex
from civicloom.registries.domain import Consent, Representation
from civicloom.registries.tables import (
    AgreementRow,
    ConsentRow,
    DataUseRow,
    RepresentationRow,
)

CONSENT_VALIDITY = timedelta(days=365)
REPRESENTATION_ACTIONS: dict[Representation, AuditAction] = {
    Representation.VERIFIED: AuditAction.REPRESENTATION_VERIFIED,
    Representation.MANDATE: AuditAction.REPRESENTATION_MANDATE,
    Representation.REFUSED: AuditAction.REPRESENTATION_REFUSED,
}


def _consent(row: ConsentRow) -> Consent:
    return Consent(
        id=row.id,
        subject=row.subject,
        service_id=row.service_id,
        purpose=row.purpose,
        agreements=tuple(row.agreements),
        departments=tuple(row.departments),
        fields=tuple(row.fields),
        granted_at=row.granted_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


async def approved_agreements(session: AsyncSession) -> tuple[DataSharingAgreement, ...]:
    """The agreements the platform enforces: those stored by ``agreements sync`` (or the demo
    load) with an approval, as stored — never the files, which may hold an unsynced draft."""
    rows = await session.scalars(
        select(AgreementRow).where(AgreementRow.approved_by.is_not(None)).order_by(AgreementRow.id)
    )
    return tuple(DataSharingAgreement.model_validate(row.terms) for row in rows)


async def sync_agreements(
    uow: UnitOfWork, clock: Clock, agreements: Sequence[DataSharingAgreement]
) -> int:
    """Store the agreements with their approval; returns how many were new or changed."""
    changed = 0
    async with uow:
        now = clock.now()
        for agreement in agreements:
            terms = agreement.model_dump(mode="json", by_alias=True)
            digest = sha256_hex(canonical_json(terms))
            row = await uow.session.get(AgreementRow, agreement.id)
            if row is not None and row.content_hash == digest:
                continue
            approval = agreement.approved
            approved_at = (
                datetime.combine(approval.at, datetime.min.time(), tzinfo=now.tzinfo)
                if approval
                else None
            )
            if row is None:
                row = AgreementRow(id=agreement.id)
                uow.session.add(row)
            row.capability, row.owner, row.reader = (
                agreement.capability,
                agreement.owner,
                agreement.reader,
            )
            row.consent_required = agreement.consent_required
            row.approved_by = approval.by if approval else None
            row.approved_at = approved_at
            row.terms, row.content_hash, row.loaded_at = terms, digest, now
            await append_audit(
                uow.session,
                AuditRecord(
                    actor="system:registries",
                    action=AuditAction.AGREEMENT_LOADED,
                    subject_type="agreement",
                    subject_id=agreement.id,
                    occurred_at=now,
                    department=agreement.owner,
                    details={"content_hash": digest, "reader": agreement.reader},
                ),
            )
            changed += 1
        await uow.commit()
    return changed


@dataclass(frozen=True)
class GrantConsent:
    """What the applicant agrees to: the agreements (and so fields and departments) for a form."""

    service_id: str
    purpose: str
    agreements: tuple[DataSharingAgreement, ...]
    fields: tuple[str, ...]
    draft_id: str | None = None


async def record_consent(
    session: AsyncSession, now: datetime, principal: Principal, grant: GrantConsent
) -> Consent:
    """Store a consent and audit it, inside the caller's transaction."""
    row = ConsentRow(
        id=new_id(),
        subject=principal.subject,
        service_id=grant.service_id,
        purpose=grant.purpose,
        agreements=sorted({a.id for a in grant.agreements}),
        departments=sorted({a.owner for a in grant.agreements}),
        fields=sorted(set(grant.fields)),
        draft_id=grant.draft_id,
        granted_at=now,
        expires_at=now + CONSENT_VALIDITY,
        revoked_at=None,
    )
    session.add(row)
    await append_audit(
        session,
        AuditRecord(
            actor=principal.audit_name,
            action=AuditAction.CONSENT_GRANTED,
            subject_type="consent",
            subject_id=row.id,
            occurred_at=now,
            purpose=grant.purpose,
            fields=tuple(row.fields),
            details={"agreements": row.agreements, "service": grant.service_id},
        ),
    )
    await session.flush()
    return _consent(row)


async def grant_consent(
    uow: UnitOfWork, clock: Clock, principal: Principal, grant: GrantConsent
) -> Consent:
    """The applicant consents to the reads the agreements describe (audited)."""
    async with uow:
        consent = await record_consent(uow.session, clock.now(), principal, grant)
        await uow.commit()
    return consent


async def revoke_consent(
    uow: UnitOfWork, clock: Clock, principal: Principal, consent_id: str
) -> Consent:
    """Stop further reuse under a consent (audited; revoking twice changes nothing)."""
    async with uow:
        row = await uow.session.get(ConsentRow, consent_id)
        if row is None or row.subject != principal.subject:
            raise NotFound(f"no consent {consent_id!r} for this person")
        if row.revoked_at is None:
            now = clock.now()
            row.revoked_at = now
            await append_audit(
                uow.session,
                AuditRecord(
                    actor=principal.audit_name,
                    action=AuditAction.CONSENT_REVOKED,
                    subject_type="consent",
                    subject_id=row.id,
                    occurred_at=now,
                    purpose=row.purpose,
                    fields=tuple(row.fields),
                    details={"agreements": list(row.agreements)},
                ),
            )
        consent = _consent(row)
        await uow.commit()
    return consent


async def list_consents(uow: UnitOfWork, principal: Principal) -> list[Consent]:
    """The caller's consents, newest first (one query)."""
    async with uow:
        rows = await uow.session.scalars(
            select(ConsentRow)
            .where(ConsentRow.subject == principal.subject)
            .order_by(ConsentRow.granted_at.desc())
        )
        return [_consent(r) for r in rows]


async def active_consent(
    session: AsyncSession, subject: str, agreement_id: str, now: datetime
) -> Consent | None:
    """The newest consent in force that covers the agreement, if any."""
    rows = await session.scalars(
        select(ConsentRow)
        .where(ConsentRow.subject == subject, ConsentRow.revoked_at.is_(None))
        .order_by(ConsentRow.granted_at.desc())
    )
    for row in rows:
        consent = _consent(row)
        if agreement_id in consent.agreements and consent.active(now):
            return consent
    return None


@dataclass(frozen=True)
class DataUse:
    """A reuse of register data, as the citizen sees it."""

    id: str
    draft_id: str
    application_id: str | None
    owner: str
    reader: str
    agreement_id: str
    consent_id: str | None
    legal_basis: str
    fields: tuple[str, ...]
    purpose: str
    read_at: datetime


def _use(row: DataUseRow) -> DataUse:
    return DataUse(
        row.id,
        row.draft_id,
        row.application_id,
        row.owner,
        row.reader,
        row.agreement_id,
        row.consent_id,
        row.legal_basis,
        tuple(row.fields),
        row.purpose,
        row.read_at,
    )


async def record_data_use(
    session: AsyncSession,
    principal: Principal,
    *,
    draft_id: str,
    agreement: DataSharingAgreement,
    consent_id: str | None,
    fields: Sequence[str],
    now: datetime,
) -> DataUse:
    """One data-use entry for a register read, inside the caller's transaction."""
    row = DataUseRow(
        id=new_id(),
        subject=principal.subject,
        draft_id=draft_id,
        application_id=None,
        capability=agreement.capability,
        owner=agreement.owner,
        reader=agreement.reader,
        agreement_id=agreement.id,
        consent_id=consent_id,
        legal_basis=agreement.legal_basis,
        fields=sorted(fields),
        purpose=agreement.purpose.en,
        read_at=now,
    )
    session.add(row)
    return _use(row)


async def data_use_of_subject(uow: UnitOfWork, principal: Principal) -> list[DataUse]:
    """Every reuse of the caller's register data, newest first."""
    async with uow:
        rows = await uow.session.scalars(
            select(DataUseRow)
            .where(DataUseRow.subject == principal.subject)
            .order_by(DataUseRow.read_at.desc())
        )
        return [_use(r) for r in rows]


async def link_data_use(
    session: AsyncSession, principal: Principal, draft_id: str, application_id: str
) -> list[DataUse]:
    """Attach a draft's reads to the application it became and put each on the application's
    audit chain, so "Who used my data" shows them (inside the caller's transaction)."""
    rows = list(
        await session.scalars(
            select(DataUseRow).where(
                DataUseRow.draft_id == draft_id, DataUseRow.application_id.is_(None)
            )
        )
    )
    for row in rows:
        row.application_id = application_id
        await append_audit(
            session,
            AuditRecord(
                actor=principal.audit_name,
                action=AuditAction.REGISTER_READ,
                subject_type="application",
                subject_id=application_id,
                occurred_at=row.read_at,
                department=row.owner,
                purpose=row.purpose,
                fields=tuple(row.fields),
                details={"agreement": row.agreement_id, "consent": row.consent_id},
            ),
        )
    return [_use(r) for r in rows]


async def cached_representation(
    session: AsyncSession, subject: str, registration_number: str, context_id: str
) -> Representation | None:
    """The representation already decided for this applicant, business and draft."""
    outcome = await session.scalar(
        select(RepresentationRow.outcome).where(
            RepresentationRow.subject == subject,
            RepresentationRow.registration_number == registration_number,
            RepresentationRow.context_id == context_id,
        )
    )
    return Representation(outcome) if outcome else None


async def record_representation(
    session: AsyncSession,
    principal: Principal,
    registration_number: str,
    context_id: str,
    outcome: Representation,
    now: datetime,
    department: str,
) -> None:
    """Keep the register's verdict with the time it was read (audited, as the register owner's)."""
    session.add(
        RepresentationRow(
            id=new_id(),
            subject=principal.subject,
            registration_number=registration_number,
            context_id=context_id,
            outcome=outcome.value,
            checked_at=now,
        )
    )
    await append_audit(
        session,
        AuditRecord(
            actor=principal.audit_name,
            action=REPRESENTATION_ACTIONS[outcome],
            subject_type="draft",
            subject_id=context_id,
            occurred_at=now,
            department=department,
            details={"registration_number": registration_number},
        ),
    )


async def register_reads(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[str, str, str | None, datetime]]:
    """``(reader, register owner, application_id, read_at)`` of every read once-only prefill
    made of a base register in ``[start, end)`` (the application is linked once the draft is
    submitted), for the funding meters (one statement)."""
    rows = await session.execute(
        select(DataUseRow.reader, DataUseRow.owner, DataUseRow.application_id, DataUseRow.read_at)
        .where(DataUseRow.read_at >= start)
        .where(DataUseRow.read_at < end)
    )
    return [(str(r), str(o), a, at) for r, o, a, at in rows]
