"""Who may act for a business (ADR 0041): the business register's directors, plus the
delegated mandates a director grants, the delegate accepts and either revokes.

``verify_acting_for`` is the one gate every submission and every later applicant action
passes. It never holds a transaction open across the register call: the agreements and the
mandates are read in one short read, the register is asked, and the caller then writes in its
own short transaction with the ``ActingFor`` it got back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import or_, select

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.catalogue import DataSharingAgreement
from civicloom.db import UnitOfWork
from civicloom.departments import (
    CallOutcome,
    CapabilityCall,
    CapabilityGateway,
    PermanentError,
)
from civicloom.identity import ActingFor, Capacity, Forbidden, mandates_of
from civicloom.kernel import (
    Clock,
    FieldError,
    NotFound,
    Principal,
    ValidationFailed,
    new_id,
)
from civicloom.observability import get_logger
from civicloom.registries.domain import Representation, representation_from_register
from civicloom.registries.services import approved_agreements
from civicloom.registries.tables import DelegatedMandateRow

log = get_logger(__name__)
REGISTRATION_FIELD = "business_registration_number"
FIELD = f"data.{REGISTRATION_FIELD}"
MAY_ACT_FOR = "may-act-for"  # the register names someone else and no mandate stands
REGISTERED_BUSINESS = "registered-business"  # the register does not know the number
REGISTER_UNAVAILABLE = "register-unavailable"  # the register could not be asked: refused


class ApplicationOfBusiness(Protocol):
    """What the mandate check needs of an application (``applications.ApplicationRecord``)."""

    @property
    def applicant_id(self) -> str: ...
    @property
    def service_id(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Mandate:
    """A delegated mandate as the director and the delegate see it."""

    id: str
    registration_number: str
    business_name: str
    granted_by: str
    delegate: str
    services: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime
    granted_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None

    def in_force(self, now: datetime, service_id: str) -> bool:
        """Accepted, not revoked, inside its period and covering the service."""
        return (
            self.accepted_at is not None
            and self.revoked_at is None
            and self.valid_from <= now < self.valid_until
            and (not self.services or service_id in self.services)
        )


def _mandate(row: DelegatedMandateRow) -> Mandate:
    return Mandate(
        row.id,
        row.registration_number,
        row.business_name,
        row.granted_by,
        row.delegate,
        tuple(row.services),
        row.valid_from,
        row.valid_until,
        row.granted_at,
        row.accepted_at,
        row.revoked_at,
    )


def _refuse(rule: str, message: str) -> ValidationFailed:
    return ValidationFailed([FieldError(FIELD, rule, message)])


def _verifying(
    agreements: Sequence[DataSharingAgreement], now: datetime
) -> DataSharingAgreement | None:
    return next(
        (a for a in agreements if a.verifies_representation and a.in_force(now.date())), None
    )


async def read_business_register(
    gateway: CapabilityGateway, agreement: DataSharingAgreement, registration_number: str
) -> dict[str, Any]:
    """Ask the business register about one business (no transaction may be open here)."""
    try:
        result = await gateway.call(
            CapabilityCall(
                department=agreement.owner,
                capability=agreement.capability,
                input={"registration_number": registration_number},
                idempotency_key=f"representation:{registration_number}:{new_id()}",
            )
        )
    except PermanentError as exc:  # the register refuses the number: no such business
        raise _refuse(REGISTERED_BUSINESS, "the business register has no such business") from exc
    except Exception as exc:  # a register that is down: refused, never waved through
        log.warning("representation_unverified", error=type(exc).__name__)
        raise _refuse(
            REGISTER_UNAVAILABLE, "the business register could not confirm who may act for it"
        ) from exc
    if result.outcome is not CallOutcome.COMPLETED:
        raise _refuse(REGISTER_UNAVAILABLE, "the business register did not answer")
    return dict(result.output)


def directors_in(entry: dict[str, Any]) -> tuple[str, ...]:
    """Subjects the register names as directors or authorised signatories."""
    people = [entry.get("director_person_id")]
    people += list(entry.get("signatory_person_ids") or ())
    return tuple(str(p) for p in people if p)


async def verify_acting_for(
    uow_factory: Callable[[], UnitOfWork],
    gateway: CapabilityGateway | None,
    clock: Clock,
    principal: Principal,
    registration_number: str,
    service_id: str,
) -> ActingFor:
    """May ``principal`` act for the business, for this service, now? Refused by name if not.

    The register decides: a person it names (director, authorised signatory) acts as director;
    someone a named director delegated the service to, who accepted, acts as delegate; when the
    register names nobody, the identity provider's mandate stands. Nothing is written here.
    """
    now = clock.now()
    async with uow_factory() as uow:  # one short read, closed before the register is asked
        agreement = _verifying(await approved_agreements(uow.session), now)
        rows = await uow.session.scalars(
            select(DelegatedMandateRow).where(
                DelegatedMandateRow.registration_number == registration_number,
                DelegatedMandateRow.delegate == principal.subject,
                DelegatedMandateRow.revoked_at.is_(None),
                DelegatedMandateRow.accepted_at.is_not(None),
            )
        )
        held = [m for m in (_mandate(r) for r in rows) if m.in_force(now, service_id)]
    if agreement is None or gateway is None:
        raise _refuse(REGISTER_UNAVAILABLE, "no business register verifies representation")
    entry = await read_business_register(gateway, agreement, registration_number)
    directors = directors_in(entry)
    capacity: Capacity | None = None
    mandate_id = None
    if principal.subject in directors:
        capacity = Capacity.DIRECTOR
    elif delegated := next((m for m in held if m.granted_by in directors), None):
        capacity, mandate_id = Capacity.DELEGATE, delegated.id
    elif not directors:
        verdict = representation_from_register(
            principal.subject,
            principal.display_name,
            registration_number in mandates_of(principal),
            entry,
        )
        if verdict is Representation.VERIFIED:
            capacity = Capacity.DIRECTOR
        elif verdict is Representation.MANDATE:
            capacity = Capacity.IDP_MANDATE
    if capacity is None:
        raise _refuse(MAY_ACT_FOR, "you may not act for this business")
    return ActingFor(
        subject=principal.subject,
        registration_number=registration_number,
        capacity=capacity,
        department=agreement.owner,
        capability=agreement.capability,
        agreement=agreement.id,
        entry=entry,
        checked_at=now,
        mandate_id=mandate_id,
        directors=directors,
    )


@dataclass(frozen=True)
class GrantMandate:
    """What a director delegates: to whom, for which services (empty: all), until when."""

    registration_number: str
    delegate: str
    services: tuple[str, ...]
    valid_until: datetime


async def grant_mandate(
    uow_factory: Callable[[], UnitOfWork],
    gateway: CapabilityGateway | None,
    clock: Clock,
    director: Principal,
    grant: GrantMandate,
) -> Mandate:
    """A director (per the register, read first) delegates to another person (audited)."""
    acting = await verify_acting_for(
        uow_factory, gateway, clock, director, grant.registration_number, "*"
    )
    if acting.capacity is not Capacity.DIRECTOR:
        raise _refuse(MAY_ACT_FOR, "only a director the register names may delegate")
    if grant.delegate == director.subject or not grant.delegate.strip():
        raise ValidationFailed([FieldError("delegate", "other-person", "name another person")])
    now = clock.now()
    if grant.valid_until <= now:
        raise ValidationFailed([FieldError("valid_until", "future", "must be in the future")])
    async with uow_factory() as uow:
        row = DelegatedMandateRow(
            id=new_id(),
            registration_number=grant.registration_number,
            business_name=str(acting.entry.get("name") or grant.registration_number),
            granted_by=director.subject,
            delegate=grant.delegate.strip(),
            services=sorted(set(grant.services)),
            valid_from=now,
            valid_until=grant.valid_until,
            granted_at=now,
            accepted_at=None,
            revoked_at=None,
            revoked_by=None,
        )
        uow.session.add(row)
        await _audit(uow, director, AuditAction.MANDATE_GRANTED, row, now, acting.department)
        mandate = _mandate(row)
        await uow.commit()
    return mandate


async def _audit(
    uow: UnitOfWork,
    who: Principal,
    action: AuditAction,
    row: DelegatedMandateRow,
    now: datetime,
    department: str | None = None,
) -> None:
    await append_audit(
        uow.session,
        AuditRecord(
            actor=who.audit_name,
            action=action,
            subject_type="mandate",
            subject_id=row.id,
            occurred_at=now,
            department=department,
            purpose="act for a business",
            details={
                "registration_number": row.registration_number,
                "granted_by": row.granted_by,
                "delegate": row.delegate,
                "services": list(row.services),
            },
        ),
    )


async def accept_mandate(
    uow: UnitOfWork, clock: Clock, delegate: Principal, mandate_id: str
) -> Mandate:
    """The delegate accepts (audited; accepting twice changes nothing)."""
    async with uow:
        row = await uow.session.get(DelegatedMandateRow, mandate_id)
        if row is None or row.delegate != delegate.subject or row.revoked_at is not None:
            raise NotFound(f"no mandate {mandate_id!r} for this person")
        if row.accepted_at is None:
            now = clock.now()
            row.accepted_at = now
            await _audit(uow, delegate, AuditAction.MANDATE_ACCEPTED, row, now)
        mandate = _mandate(row)
        await uow.commit()
    return mandate


async def revoke_mandate(uow: UnitOfWork, clock: Clock, who: Principal, mandate_id: str) -> Mandate:
    """The director who granted it or the delegate ends it (audited; twice changes nothing)."""
    async with uow:
        row = await uow.session.get(DelegatedMandateRow, mandate_id)
        if row is None or who.subject not in (row.granted_by, row.delegate):
            raise NotFound(f"no mandate {mandate_id!r} for this person")
        if row.revoked_at is None:
            now = clock.now()
            row.revoked_at, row.revoked_by = now, who.subject
            await _audit(uow, who, AuditAction.MANDATE_REVOKED, row, now)
        mandate = _mandate(row)
        await uow.commit()
    return mandate


async def mandates_of_person(
    uow: UnitOfWork, who: Principal
) -> tuple[list[Mandate], list[Mandate]]:
    """(granted by this person, held by this person), newest first, in one query."""
    async with uow:
        rows = list(
            await uow.session.scalars(
                select(DelegatedMandateRow)
                .where(
                    or_(
                        DelegatedMandateRow.granted_by == who.subject,
                        DelegatedMandateRow.delegate == who.subject,
                    )
                )
                .order_by(DelegatedMandateRow.granted_at.desc())
            )
        )
    granted = [_mandate(r) for r in rows if r.granted_by == who.subject]
    held = [_mandate(r) for r in rows if r.delegate == who.subject]
    return granted, held


async def acting_for_answers(
    uow_factory: Callable[[], UnitOfWork],
    gateway: CapabilityGateway | None,
    clock: Clock,
    principal: Principal,
    service_id: str,
    data: dict[str, Any],
) -> ActingFor | None:
    """The verdict for the business the answers name (None when they name none)."""
    number = data.get(REGISTRATION_FIELD)
    if not isinstance(number, str):
        return None
    return await verify_acting_for(uow_factory, gateway, clock, principal, number, service_id)


async def still_acting_for(
    uow_factory: Callable[[], UnitOfWork],
    gateway: CapabilityGateway | None,
    clock: Clock,
    principal: Principal,
    application: ApplicationOfBusiness,
) -> None:
    """Every later applicant action on an application for a business (pay, answer, withdraw,
    upload) checks the mandate again at that moment: a revoked delegate is refused (403)."""
    if application.applicant_id != principal.subject:
        return  # not the applicant's: the caller's ownership check answers 404
    try:
        await acting_for_answers(
            uow_factory, gateway, clock, principal, application.service_id, application.data
        )
    except ValidationFailed as refused:
        raise Forbidden("you may no longer act for this business") from refused


async def verified_mandates(
    uow_factory: Callable[[], UnitOfWork],
    gateway: CapabilityGateway | None,
    clock: Clock,
    principal: Principal,
    claimed: Sequence[str],
) -> frozenset[str]:
    """The businesses a signing-in citizen represents: of those the identity provider claims,
    the ones whose register entry names the person (director or authorised signatory), asked
    through the same gate as every submission. A claim the register does not confirm, or a
    register that cannot be asked, gives nothing (refused, never waved through)."""
    plain = Principal(
        subject=principal.subject,
        display_name=principal.display_name,
        roles=principal.roles,
        authenticated_by=principal.authenticated_by,
    )  # without mandates: the claim itself must not count as the idp-mandate ground
    kept: set[str] = set()
    dropped: dict[str, str] = {}
    for number in claimed:
        try:
            acting = await verify_acting_for(uow_factory, gateway, clock, plain, number, "*")
        except ValidationFailed as refused:
            dropped[number] = refused.errors[0].rule
            continue
        named = acting.entry.get("director_person_id") == principal.subject or (
            principal.subject in acting.directors
        )
        if acting.capacity is Capacity.DIRECTOR and named:
            kept.add(number)
        else:
            # A register that names its director only by name confirms a submission it is
            # asked about, never a session-wide mandate: a namesake is not the director.
            dropped[number] = (
                "name-only" if acting.capacity is Capacity.DIRECTOR else acting.capacity.value
            )
    if dropped:
        log.info("claimed_mandates_dropped", count=len(dropped), rules=sorted(dropped.values()))
    return frozenset(kept)
