"""The assisted channel (ADR 0044): an officer at a service counter applies for someone who is
there in person, and that person takes the application over online later with a claim code.

``apply_at_counter`` records the identity check (document type and a masked number, never an
image or the whole number) and the signed declaration the officer saw, asks the business
register first when the form is about a business (no transaction open, ADR 0041), then submits
through ``applications.submit_in`` (the one write path) audited as made on behalf of the
applicant. ``take_over`` gives the application to the citizen who enters the printed code,
once.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from civicloom.applications import (
    OnBehalf,
    SubmitApplication,
    counter_applicant,
    submit_in,
    take_over_in,
)
from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.catalogue import Blueprint, get_current_blueprint
from civicloom.db import UnitOfWork
from civicloom.departments import CapabilityGateway
from civicloom.identity import APPLICANT_ROLES, Forbidden
from civicloom.kernel import (
    Clock,
    Conflict,
    FieldError,
    NotFound,
    Principal,
    TextKind,
    ValidationFailed,
    sha256_hex,
    text_problem,
)
from civicloom.notifications import hand_over_inbox
from civicloom.portal.tables import CounterApplicationRow
from civicloom.registries import verify_acting_for

COUNTER_ROLE = "counter-officer"
DOCUMENT_TYPES = ("national-id-card", "passport", "residence-permit", "driving-licence")
DECLARATION = "signed-declaration-seen"
BUSINESS_FIELD = "business_registration_number"
CLAIM_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: read aloud, typed back
CLAIM_LENGTH = 16  # 30**16 ~ 2**78 (ADR 0044: long enough that guessing is hopeless)
CLAIM_VALID = timedelta(days=90)
_DOCUMENT_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{3,29}$")
_PERSONAL_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{1,79}$")


@dataclass(frozen=True)
class IdentityCheck:
    """What the officer saw and checked: the person's document and their signed declaration."""

    name: str
    document_type: str
    document_number: str
    personal_number: str  # as the business register knows the person (business forms only)
    declaration_signed: bool


@dataclass(frozen=True)
class CounterReceipt:
    """What the counter prints: the reference and how to take the application over online."""

    counter_id: str
    application_id: str
    reference: str
    service_id: str
    blueprint: Blueprint
    submitted_at: datetime
    name_on_document: str
    document_type: str
    document_number_hint: str
    claim_code: str | None  # only when just issued; never stored, so never shown again
    claim_expires_at: datetime


def masked(document_number: str) -> str:
    """The document number as stored: its last three characters, enough to say which document
    was seen, too little to reuse (ADR 0044)."""
    compact = re.sub(r"[\s-]", "", document_number)
    return f"•••{compact[-3:].upper()}"


def document_digest(counter_id: str, document_number: str) -> str:
    """What is kept to recognise the document again: a hash of the row and the whole number."""
    compact = re.sub(r"[\s-]", "", document_number).upper()
    return sha256_hex(f"{counter_id}:{compact}")


def new_claim_code() -> str:
    """A fresh claim code, grouped in fours for reading aloud: ``ABCD-EFGH-JKMN-PQRS``."""
    raw = "".join(secrets.choice(CLAIM_ALPHABET) for _ in range(CLAIM_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CLAIM_LENGTH, 4))


def claim_hash(code: str) -> str | None:
    """The stored form of a code as typed (spaces, dashes and case ignored), or None when it
    cannot be a code at all."""
    compact = re.sub(r"[\s-]", "", code).upper()
    if len(compact) != CLAIM_LENGTH or any(c not in CLAIM_ALPHABET for c in compact):
        return None
    return sha256_hex(f"civicloom-claim:{compact}")


def identity_problems(check: IdentityCheck, business: bool) -> list[FieldError]:
    """What is missing or wrong in the identity check (a business needs the personal number)."""
    errors: list[FieldError] = []
    name = check.name.strip()
    if not name:
        errors.append(FieldError("identity.name", "required", "enter the name on the document"))
    elif len(name) > 200 or text_problem(name, TextKind.LINE) is not None:
        errors.append(FieldError("identity.name", "name", "the name is not valid"))
    if check.document_type not in DOCUMENT_TYPES:
        errors.append(
            FieldError("identity.document_type", "required", "select the document you saw")
        )
    number = check.document_number.strip()
    if not number:
        errors.append(
            FieldError("identity.document_number", "required", "enter the document number")
        )
    elif not _DOCUMENT_NUMBER.match(number):
        errors.append(
            FieldError("identity.document_number", "document-number", "not a document number")
        )
    personal = check.personal_number.strip()
    if business and not personal:
        errors.append(
            FieldError("identity.personal_number", "required", "enter the personal number")
        )
    elif personal and not _PERSONAL_NUMBER.match(personal):
        errors.append(
            FieldError("identity.personal_number", "personal-number", "not a personal number")
        )
    if not check.declaration_signed:
        errors.append(
            FieldError("identity.declaration", "declaration", "the declaration must be signed")
        )
    return errors


def is_business_form(blueprint: Blueprint) -> bool:
    """A form about a business: the register decides who may apply for it (ADR 0041)."""
    return BUSINESS_FIELD in blueprint.form.json_schema.get("properties", {})


async def counter_service(uow: UnitOfWork, service_id: str) -> Blueprint:
    """The service's current published blueprint (NotFound when there is none)."""
    async with uow:
        published = await get_current_blueprint(uow.session, service_id)
    if published is None:
        raise NotFound(f"no published service {service_id!r}")
    return published.blueprint


class TakenOver(Conflict):
    """The counter form was sent again after the person took the application over online."""


def _may_replay(officer: Principal, earlier: CounterApplicationRow | None) -> None:
    """A counter form sent again is replayed for its own department only (another department
    learns nothing of it), and only until the person has taken the application over."""
    if earlier is not None and earlier.department != officer.department:
        raise NotFound("no counter application")
    if earlier is not None and earlier.claimed_at is not None:
        raise TakenOver("the person has taken this application over online")


def _officer(principal: Principal) -> None:
    if COUNTER_ROLE not in principal.roles:
        raise Forbidden("only a counter officer applies on someone's behalf")


async def apply_at_counter(
    uow_factory: Callable[[], UnitOfWork],
    clock: Clock,
    gateway: CapabilityGateway | None,
    officer: Principal,
    counter_id: str,
    service_id: str,
    data: dict[str, Any],
    check: IdentityCheck,
) -> CounterReceipt:
    """Apply for the person at the counter (idempotent on ``counter_id``: a second post of the
    same form returns the first application, without a new claim code).

    Refused, with nothing written, when the identity check is incomplete, when a form about a
    business has no verdict of the register naming the person whose document was seen, or when
    the answers break the form's schema.
    """
    _officer(officer)
    blueprint = await counter_service(uow_factory(), service_id)
    business = is_business_form(blueprint) and data.get(BUSINESS_FIELD) is not None
    errors = identity_problems(check, business)
    if errors:
        raise ValidationFailed(errors)
    async with uow_factory() as read:  # before the register is asked: a refusal calls no one
        _may_replay(officer, await read.session.get(CounterApplicationRow, counter_id))
    person = check.personal_number.strip() or None
    acting = None
    if business and person:
        someone = Principal(
            subject=person,
            display_name=check.name.strip(),
            roles=frozenset({"citizen"}),
            authenticated_by="counter",
        )
        acting = await verify_acting_for(
            uow_factory, gateway, clock, someone, str(data[BUSINESS_FIELD]), service_id
        )
    applicant = Principal(
        subject=counter_applicant(counter_id),
        display_name=check.name.strip(),
        roles=frozenset({"citizen"}),
        authenticated_by="counter",
    )
    hint = masked(check.document_number)
    code = new_claim_code()
    uow = uow_factory()
    async with uow:
        # a form sent again: only its own department replays it, and only until the take-over
        # (locked, so a take-over and a replay do not cross)
        _may_replay(
            officer, await uow.session.get(CounterApplicationRow, counter_id, with_for_update=True)
        )
        view, created = await submit_in(
            uow.session,
            clock,
            applicant,
            SubmitApplication(
                service_id=service_id,
                data=data,
                idempotency_key=counter_id,
                acting_for=acting,
                on_behalf=OnBehalf(
                    officer=officer.audit_name,
                    department=officer.department,
                    counter_id=counter_id,
                    identity={"document_type": check.document_type, "document_number": hint},
                    person=person if business else None,
                ),
            ),
        )
        now = clock.now()
        if created:
            row = CounterApplicationRow(
                id=counter_id,
                application_id=view.id,
                reference=view.reference,
                service_id=view.service_id,
                officer=officer.audit_name,
                department=officer.department,
                represents="business" if business else "person",
                name_on_document=check.name.strip(),
                document_type=check.document_type,
                document_number_hint=hint,
                declaration=DECLARATION,
                claim_code_hash=str(claim_hash(code)),
                claim_expires_at=now + CLAIM_VALID,
                created_at=now,
                person_hash=sha256_hex(person) if business and person else None,
                document_number_hash=document_digest(counter_id, check.document_number),
            )
            uow.session.add(row)
        else:
            found = await uow.session.get(CounterApplicationRow, counter_id)
            if found is None:
                raise NotFound("no counter application")
            row = found
        await uow.commit()
    return CounterReceipt(
        counter_id=row.id,
        application_id=view.id,
        reference=view.reference,
        service_id=view.service_id,
        blueprint=blueprint,
        submitted_at=view.submitted_at,
        name_on_document=row.name_on_document,
        document_type=row.document_type,
        document_number_hint=row.document_number_hint,
        claim_code=code if created else None,
        claim_expires_at=row.claim_expires_at,
    )


def _receipt_of(row: CounterApplicationRow, blueprint: Blueprint, code: str) -> CounterReceipt:
    """The receipt of a stored counter application, printed with the claim code just shown."""
    return CounterReceipt(
        counter_id=row.id,
        application_id=row.application_id,
        reference=row.reference,
        service_id=row.service_id,
        blueprint=blueprint,
        submitted_at=row.created_at,
        name_on_document=row.name_on_document,
        document_type=row.document_type,
        document_number_hint=row.document_number_hint,
        claim_code=code,
        claim_expires_at=row.claim_expires_at,
    )


async def counter_receipt(
    uow: UnitOfWork, officer: Principal, counter_id: str, code: str
) -> CounterReceipt:
    """The receipt again (to print it), for the officer who holds the code just issued."""
    _officer(officer)
    digest = claim_hash(code)
    async with uow:
        row = await uow.session.get(CounterApplicationRow, counter_id)
        if row is None or digest is None or row.claim_code_hash != digest:
            raise NotFound("no such counter receipt")
        published = await get_current_blueprint(uow.session, row.service_id)
    if published is None:
        raise NotFound("no such counter receipt")
    return _receipt_of(row, published.blueprint, code)


@dataclass(frozen=True)
class CounterUploadTarget:
    """A counter application that its department's counter officer may still add documents to:
    the stand-in who holds it (the documents module's applicant) and its service."""

    counter_id: str
    application_id: str
    reference: str
    name_on_document: str
    applicant: Principal
    blueprint: Blueprint


async def counter_upload_target(
    uow: UnitOfWork, officer: Principal, counter_id: str
) -> CounterUploadTarget:
    """Where a counter officer uploads the paper documents the person brought (ADR 0044): an
    application of their own department's counter (another's is 404), not yet taken over (after
    the take-over the documents are the person's to add: 409)."""
    _officer(officer)
    async with uow:
        row = await uow.session.get(CounterApplicationRow, counter_id)
        if row is None or row.department != officer.department:
            raise NotFound("no counter application")
        if row.claimed_at is not None:
            raise TakenOver("the person has taken this application over online")
        published = await get_current_blueprint(uow.session, row.service_id)
    if published is None:
        raise NotFound("no counter application")
    return CounterUploadTarget(
        counter_id=row.id,
        application_id=row.application_id,
        reference=row.reference,
        name_on_document=row.name_on_document,
        applicant=Principal(
            subject=counter_applicant(row.id),
            display_name=row.name_on_document,
            roles=frozenset({"citizen"}),
            authenticated_by="counter",
        ),
        blueprint=published.blueprint,
    )


INVALID_CODE = "claim-code"


async def take_over(
    uow_factory: Callable[[], UnitOfWork], clock: Clock, citizen: Principal, code: str
) -> tuple[str, str]:
    """The citizen who enters the printed code takes the counter application over: once, before
    the code expires; returns (application id, reference). A wrong, used or expired code is
    refused with one message that says which of those it was to nobody."""
    if not APPLICANT_ROLES & citizen.roles:
        raise Forbidden("only an applicant takes over an application")
    refused = ValidationFailed([FieldError("code", INVALID_CODE, "this code cannot be used")])
    digest = claim_hash(code)
    if digest is None:
        raise refused
    uow = uow_factory()
    async with uow:
        row = await uow.session.scalar(
            select(CounterApplicationRow)
            .where(CounterApplicationRow.claim_code_hash == digest)
            .with_for_update()
        )
        now = clock.now()
        if row is None or row.claimed_at is not None or row.claim_expires_at <= now:
            raise refused
        if row.represents == "business" and row.person_hash != sha256_hex(citizen.subject):
            raise refused  # the register verified someone else for this business
        reference = await take_over_in(uow.session, clock, row.application_id, row.id, citizen)
        # what was said to the stand-in before is the person's now (the same transaction)
        await hand_over_inbox(
            uow.session, row.application_id, counter_applicant(row.id), citizen.subject
        )
        row.claimed_at, row.claimed_by = now, citizen.subject
        await uow.commit()
    return row.application_id, reference


@dataclass(frozen=True)
class CounterEntry:
    """A counter application as the department's counter officers list it."""

    counter_id: str
    reference: str
    service_id: str
    name_on_document: str
    document_type: str
    document_number_hint: str
    created_at: datetime
    claim_expires_at: datetime
    claimed: bool


LIST_LIMIT = 100


async def counter_applications(uow: UnitOfWork, officer: Principal) -> list[CounterEntry]:
    """The department's counter applications, newest first (one query, at most 100)."""
    _officer(officer)
    async with uow:
        rows = await uow.session.scalars(
            select(CounterApplicationRow)
            .where(CounterApplicationRow.department == officer.department)
            .order_by(CounterApplicationRow.created_at.desc())
            .limit(LIST_LIMIT)
        )
        return [
            CounterEntry(
                r.id,
                r.reference,
                r.service_id,
                r.name_on_document,
                r.document_type,
                r.document_number_hint,
                r.created_at,
                r.claim_expires_at,
                r.claimed_at is not None,
            )
            for r in rows
        ]


async def reissue_claim_code(
    uow_factory: Callable[[], UnitOfWork],
    clock: Clock,
    officer: Principal,
    counter_id: str,
    document_type: str,
    document_number: str,
) -> CounterReceipt:
    """A lost receipt: the person shows the same document again, the old code stops working
    and a new one is issued (audited). Only the department's counter officers, only before the
    application is taken over, only when the document's type and last characters match."""
    _officer(officer)
    errors = []
    if document_type not in DOCUMENT_TYPES:
        errors.append(
            FieldError("identity.document_type", "required", "select the document you saw")
        )
    if not document_number.strip():
        errors.append(
            FieldError("identity.document_number", "required", "enter the document number")
        )
    elif not _DOCUMENT_NUMBER.match(document_number.strip()):
        errors.append(
            FieldError("identity.document_number", "document-number", "not a document number")
        )
    if errors:
        raise ValidationFailed(errors)
    code = new_claim_code()
    uow = uow_factory()
    async with uow:
        row = await uow.session.get(CounterApplicationRow, counter_id, with_for_update=True)
        if row is None or row.department != officer.department:
            raise NotFound("no such counter application")
        if row.claimed_at is not None:
            raise ValidationFailed(
                [FieldError("counter", "taken-over", "the applicant has taken it over")]
            )
        if row.document_type != document_type or row.document_number_hash != document_digest(
            row.id, document_number
        ):
            raise ValidationFailed(
                [
                    FieldError(
                        "identity.document_number",
                        "same-document",
                        "not the document seen when the application was made",
                    )
                ]
            )
        published = await get_current_blueprint(uow.session, row.service_id)
        if published is None:
            raise NotFound("no such service")
        now = clock.now()
        row.claim_code_hash = str(claim_hash(code))
        row.claim_expires_at = now + CLAIM_VALID
        await append_audit(
            uow.session,
            AuditRecord(
                actor=officer.audit_name,
                action=AuditAction.CLAIM_CODE_REISSUED,
                subject_type="application",
                subject_id=row.application_id,
                occurred_at=now,
                department=officer.department,
                purpose="a new claim code for a lost counter receipt",
                details={
                    "counter_id": row.id,
                    "identity": {
                        "document_type": row.document_type,
                        "document_number": row.document_number_hint,
                    },
                },
            ),
        )
        await uow.commit()
    return _receipt_of(row, published.blueprint, code)
