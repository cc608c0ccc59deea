"""Portal use cases: drafts (save and resume), once-only prefill, submitting a draft.

Each use case opens the unit of work, changes state, appends its audit entry and commits
once; submission goes through ``civicloom.applications.submit_in``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from civicloom.applications import (
    ApplicationView,
    SubmitApplication,
    find_application,
    submit_in,
)
from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.catalogue import (
    Blueprint,
    DataSharingAgreement,
    get_blueprint_version,
    get_current_blueprint,
)
from civicloom.db import UnitOfWork
from civicloom.departments import CapabilityGateway
from civicloom.kernel import (
    Clock,
    Conflict,
    FieldError,
    NotFound,
    Principal,
    ValidationFailed,
    new_id,
)
from civicloom.observability import get_logger
from civicloom.portal.tables import DraftRow
from civicloom.registries import (
    GrantConsent,
    PermittedRead,
    RegisterRead,
    acting_for_answers,
    active_consent,
    approved_agreements,
    call_registers,
    link_data_use,
    permit_reads,
    plan_reads,
    record_consent,
    record_reads,
    still_acting_for,
)

log = get_logger(__name__)


@dataclass(frozen=True)
class Draft:
    """An application being filled in, with the blueprint version it started on."""

    id: str
    service_id: str
    blueprint: Blueprint
    data: dict[str, Any]
    prefilled: dict[str, Any]
    prefill_consent: str | None
    idempotency_key: str
    application_id: str | None


async def _row(uow: UnitOfWork, principal: Principal, draft_id: str) -> DraftRow:
    row = await uow.session.get(DraftRow, draft_id)
    if row is None or row.applicant_id != principal.subject:
        raise NotFound(f"no draft {draft_id!r} for this applicant")
    return row


async def _draft(uow: UnitOfWork, row: DraftRow) -> Draft:
    published = await get_blueprint_version(uow.session, row.blueprint_version_id)
    if published is None:
        raise NotFound(f"the service version of draft {row.id!r} is gone")
    return Draft(
        id=row.id,
        service_id=row.service_id,
        blueprint=published.blueprint,
        data=dict(row.data),
        prefilled=dict(row.prefilled),
        prefill_consent=row.prefill_consent,
        idempotency_key=row.idempotency_key,
        application_id=row.application_id,
    )


async def start_draft(
    uow: UnitOfWork, clock: Clock, principal: Principal, service_id: str
) -> Draft:
    """Begin an application on the service's current version."""
    async with uow:
        published = await get_current_blueprint(uow.session, service_id)
        if published is None:
            raise NotFound(f"no published service {service_id!r}")
        now = clock.now()
        row = DraftRow(
            id=new_id(),
            applicant_id=principal.subject,
            service_id=service_id,
            blueprint_version_id=published.version_id,
            data={},
            prefilled={},
            idempotency_key=secrets.token_urlsafe(24),
            created_at=now,
            updated_at=now,
        )
        uow.session.add(row)
        await uow.session.flush()
        draft = await _draft(uow, row)
        await uow.commit()
    return draft


async def get_draft(uow: UnitOfWork, principal: Principal, draft_id: str) -> Draft:
    """One of the caller's drafts; anyone else's is NotFound."""
    async with uow:
        return await _draft(uow, await _row(uow, principal, draft_id))


async def save_answers(
    uow: UnitOfWork, clock: Clock, principal: Principal, draft_id: str, answers: dict[str, Any]
) -> None:
    """Store a page's answers (a blank answer removes the earlier one)."""
    async with uow:
        row = await _row(uow, principal, draft_id)
        if row.application_id:
            raise Conflict("this application was already sent")
        data = dict(row.data)
        for name, value in answers.items():
            if value is None:
                data.pop(name, None)
            else:
                data[name] = value
        row.data, row.updated_at = data, clock.now()
        await uow.commit()


async def discard_draft(uow: UnitOfWork, principal: Principal, draft_id: str) -> None:
    """Delete a draft that was not sent."""
    async with uow:
        row = await _row(uow, principal, draft_id)
        if row.application_id:
            raise Conflict("this application was already sent")
        await uow.session.delete(row)
        await uow.commit()


async def list_drafts(uow: UnitOfWork, principal: Principal) -> list[DraftRow]:
    """The caller's unsent drafts, newest first (one query)."""
    async with uow:
        rows = await uow.session.scalars(
            select(DraftRow)
            .where(DraftRow.applicant_id == principal.subject, DraftRow.application_id.is_(None))
            .order_by(DraftRow.updated_at.desc())
        )
        return list(rows)


PrefillPlan = RegisterRead  # one register look-up the form asks for (civicloom.registries)


async def current_agreements(uow: UnitOfWork) -> tuple[DataSharingAgreement, ...]:
    """The data-sharing agreements in force: stored and approved (``agreements sync``)."""
    async with uow:
        return await approved_agreements(uow.session)


def prefill_plans(
    blueprint: Blueprint,
    principal: Principal,
    data: dict[str, Any],
    agreements: Sequence[DataSharingAgreement],
    now: datetime | None = None,
) -> list[PrefillPlan]:
    """Register look-ups the blueprint declares that an agreement in force covers."""
    return plan_reads(
        blueprint,
        principal,
        data,
        agreements,
        now or datetime.now(UTC),
    )


async def apply_prefill(
    uow: UnitOfWork,
    clock: Clock,
    gateway: CapabilityGateway,
    principal: Principal,
    draft_id: str,
    consent: bool,
    answers: dict[str, Any] | None = None,
) -> int:
    """Record the applicant's answer and, under consent and agreement, fill from the registers.

    ``consent`` records a consent covering the agreements the form relies on; the reads then
    check the stored consents (so a revoked one stops further reads). ``answers`` are what the
    consent page asked (a plan's ``needs``, e.g. the parcel id); they are kept as the
    applicant's own. Each read is a data-use entry and an audited ``register.read``; returns
    how many answers were filled. Only the stored, approved agreements are enforced.

    No register is called inside a database transaction (ADR 0038): one short transaction
    records the consent and decides what may be read, the registers are then asked, and a
    second short transaction records the reads (re-checking consent) and fills the draft.
    """
    async with uow:
        terms = await approved_agreements(uow.session)
        by_id = {a.id: a for a in terms}
        row = await _row(uow, principal, draft_id)
        if row.application_id:
            raise Conflict("this application was already sent")
        draft = await _draft(uow, row)
        now = clock.now()
        asked = {
            n
            for p in plan_reads(draft.blueprint, principal, draft.data, terms, now)
            for n in p.needs
        }
        given = {k: v for k, v in (answers or {}).items() if k in asked and v not in (None, "")}
        data = {**draft.data, **given}
        plans = plan_reads(draft.blueprint, principal, data, terms, now)
        if not consent:  # "No" means no: not even under a consent given for another draft
            plans = [p for p in plans if not p.consent_required]
        needing = [p for p in plans if p.consent_required and p.agreement in by_id and not p.needs]
        purposes = sorted({by_id[str(p.agreement)].purpose.en for p in needing})
        if consent and needing:
            await record_consent(
                uow.session,
                now,
                principal,
                GrantConsent(
                    service_id=row.service_id,
                    purpose="; ".join(purposes),
                    agreements=tuple(by_id[str(p.agreement)] for p in needing),
                    fields=tuple(f for p in needing for f in p.fields.values()),
                    draft_id=row.id,
                ),
            )
        permits = await permit_reads(
            uow.session, principal, draft_id=row.id, plans=plans, agreements=terms, now=now
        )
        await uow.commit()

    async def still_consented(read: PermittedRead) -> bool:
        async with uow:
            return (
                await active_consent(uow.session, principal.subject, read.agreement.id, clock.now())
                is not None
            )

    got = await call_registers(
        gateway, principal, permits, draft_id=draft_id, still_permitted=still_consented
    )
    async with uow:
        row = await _row(uow, principal, draft_id)
        now = clock.now()
        result = await record_reads(uow.session, principal, got, draft_id=row.id, now=now)
        sent = row.application_id is not None  # sent while the registers answered
        if not sent:
            row.prefill_consent = "given" if consent else "declined"
            row.data = {**row.data, **given, **result.filled}
            row.prefilled = {**row.prefilled, **result.sources}
            row.updated_at = now
        for plan in result.reads:
            await append_audit(
                uow.session,
                AuditRecord(
                    actor=principal.audit_name,
                    action=AuditAction.REGISTER_READ,
                    subject_type="draft",
                    subject_id=row.id,
                    occurred_at=now,
                    department=plan.department,
                    purpose="prefill the applicant's form (once-only)",
                    fields=tuple(sorted(plan.fields)),
                    details={
                        "capability": plan.capability,
                        "service": row.service_id,
                        "agreement": plan.agreement,
                    },
                ),
            )
        await uow.commit()  # the reads happened: they are recorded even if the draft was sent
    if sent:
        raise Conflict("this application was already sent")
    return len(result.filled)


async def submit_draft(
    uow_factory: Any,
    clock: Clock,
    principal: Principal,
    draft_id: str,
    *,
    gateway: CapabilityGateway | None,
) -> ApplicationView:
    """Send the draft as an application (idempotent: a second click returns the first one).

    For a business, the business register is asked first, with no transaction open (ADR
    0041); then one transaction: the application, its audit entry and events, the draft's
    link to it and the data-use entries' link commit together or not at all.
    """
    async with uow_factory() as read:
        draft = await _draft(read, await _row(read, principal, draft_id))
    acting = await acting_for_answers(
        uow_factory, gateway, clock, principal, draft.service_id, draft.data
    )
    uow = uow_factory()
    async with uow:
        row = await _row(uow, principal, draft_id)
        draft = await _draft(uow, row)
        if draft.blueprint.form.json_schema and not draft.data:
            raise ValidationFailed([FieldError("data", "required", "answer the questions first")])
        view, _ = await submit_in(
            uow.session,
            clock,
            principal,
            SubmitApplication(
                service_id=draft.service_id,
                data=draft.data,
                idempotency_key=draft.idempotency_key,
                acting_for=acting,
            ),
        )
        if row.application_id is None:
            await link_data_use(uow.session, principal, draft_id, view.id)
        row.application_id, row.updated_at = view.id, clock.now()
        await uow.commit()
    return view


async def check_acting_for(
    uow_factory: Any,
    gateway: CapabilityGateway | None,
    clock: Clock,
    principal: Principal,
    application_id: str,
) -> None:
    """Before a later action on an application for a business: may the applicant still act
    for it (ADR 0041)? Read the application, close the read, then ask the register."""
    async with uow_factory() as uow:
        found = await find_application(uow.session, application_id)
    if found is not None:
        await still_acting_for(uow_factory, gateway, clock, principal, found)
