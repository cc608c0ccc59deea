"""The registers the platform answers for, by name and version, and the read-through of a
department's register for another department's system (ADR 0048).

A **register definition** names a register the way the GovStack Digital Registries API does
(``registryName``/``versionNumber``, a numeric database id and a code), says who owns it and
lists its fields. Two kinds:

- the platform's own licence register (owner ``platform``): its records are the licences the
  documents module issued; reads and revocation go through ``civicloom.documents``;
- a department's base register (business, taxpayer, land parcel): never copied, read one
  record at a time through the department's capability, by its key, for a machine client of
  a department that an approved data-sharing agreement names as reader, and — where the
  agreement asks for it — under the data subject's stored consent. Read-only: the owning
  department changes it through its own services.

``read_department_register`` follows ADR 0038: agreement and consent are checked in one short
transaction, the department is called with no transaction open, and the read is recorded (a
data-use entry for the subject and a ``register.read`` audit entry) in a second one, where the
consent is checked again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.catalogue import DataSharingAgreement
from civicloom.db import UnitOfWork
from civicloom.departments import (
    CallOutcome,
    CapabilityCall,
    CapabilityGateway,
    ContractViolation,
    PermanentError,
    TransientError,
    department_names,
)
from civicloom.identity import Forbidden
from civicloom.kernel import Clock, DomainError, Principal, new_id
from civicloom.registries.services import active_consent, approved_agreements
from civicloom.registries.tables import DataUseRow

PLATFORM = "platform"
"""Owner of the registers the platform itself keeps (the licence register)."""


class RegisterUnavailable(DomainError):
    """The department's system could not answer the read; nothing was recorded as read."""

    slug = "register-unavailable"
    title = "The register could not be read"
    status = 503


@dataclass(frozen=True)
class RegisterField:
    """One field of a register: its name, JSON type, and whether it is personal data."""

    name: str
    type: str
    description: str
    personal: bool = False


@dataclass(frozen=True)
class RegisterDefinition:
    """A register as the Digital Registries API names it."""

    name: str  # registryName
    version: str  # versionNumber
    database_id: int
    code: str
    description: str
    owner: str  # a department id, or PLATFORM
    key: str  # the field a record is found by
    fields: tuple[RegisterField, ...]
    capability: str | None = None  # how a department register is read
    subject_field: str | None = None
    """The field naming the person a record is about: a read on a person's consent hands the
    record over only when it names that person (else the consent would cover anyone's)."""

    @property
    def platform_owned(self) -> bool:
        """Whether the platform keeps this register (and so may change it)."""
        return self.owner == PLATFORM

    @property
    def field_names(self) -> tuple[str, ...]:
        """The fields, in order."""
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> RegisterField | None:
        """The field called ``name``, if the register has one."""
        return next((f for f in self.fields if f.name == name), None)


def _f(name: str, description: str, kind: str = "string", personal: bool = False) -> RegisterField:
    return RegisterField(name, kind, description, personal)


LICENCE_REGISTER = RegisterDefinition(
    name="licences",
    version="1.0",
    database_id=1,
    code="LIC",
    description="Licences the platform issued on approved applications",
    owner=PLATFORM,
    key="ID",
    fields=(
        _f("ID", "Licence number"),
        _f("ApplicationID", "Application the licence was issued on"),
        _f("HolderName", "Name of the licence holder"),
        _f("RegistrationNumber", "Business registration number of the holder"),
        _f("Activity", "What the licence allows"),
        _f("Premises", "Where the licence applies"),
        _f("IssuingDepartment", "Department that issued the licence"),
        _f("IssuedAt", "When the licence was issued (date-time)"),
        _f("ValidFrom", "Start of validity (date-time)"),
        _f("ValidUntil", "End of validity (date-time)"),
        _f("Status", "valid, not_yet_valid, expired or revoked"),
        _f("RevokedAt", "When the licence was revoked (date-time), if it was"),
    ),
)

DEPARTMENT_REGISTERS = (
    RegisterDefinition(
        name="businesses",
        version="1.0",
        database_id=2,
        code="BR",
        description="The business register of the Local Administration",
        owner="local-admin",
        key="registration_number",
        capability="local-admin.business_lookup",
        subject_field="director_person_id",
        fields=(
            _f("registration_number", "Business registration number"),
            _f("name", "Registered name of the business"),
            _f("status", "Registration status"),
            _f("director_name", "Name of the director", personal=True),
            _f("director_person_id", "Person id of the director", personal=True),
            _f("registered_address", "Registered address"),
        ),
    ),
    RegisterDefinition(
        name="taxpayers",
        version="1.0",
        database_id=3,
        code="TAX",
        description="The taxpayer register of the Tax Authority",
        owner="tax",
        key="registration_number",
        capability="tax.taxpayer_lookup",
        fields=(
            _f("registration_number", "Business registration number"),
            _f("tax_id", "Taxpayer identification number"),
            _f("name", "Name of the taxpayer"),
            _f("standing", "good or arrears"),
            _f("registered_address", "Registered address"),
        ),
    ),
    RegisterDefinition(
        name="parcels",
        version="1.0",
        database_id=4,
        code="LP",
        description="The land-parcel register of the Local Administration",
        owner="local-admin",
        key="parcel_id",
        capability="local-admin.parcel_lookup",
        fields=(
            _f("parcel_id", "Land parcel id"),
            _f("zone", "Planning zone"),
            _f("address", "Address of the parcel"),
        ),
    ),
)

REGISTERS: tuple[RegisterDefinition, ...] = (LICENCE_REGISTER, *DEPARTMENT_REGISTERS)


def find_register(name: str, version: str) -> RegisterDefinition | None:
    """The register called ``name`` in version ``version``, if the platform answers for it."""
    return next((r for r in REGISTERS if r.name == name and r.version == version), None)


def register_by_database_id(database_id: int) -> RegisterDefinition | None:
    """The register with this numeric database id."""
    return next((r for r in REGISTERS if r.database_id == database_id), None)


def register_by_code(code: str) -> RegisterDefinition | None:
    """The register with this code (the ``databaseId`` of ``MyPersonalDataUsage``)."""
    return next((r for r in REGISTERS if r.code == code), None)


def read_only_reason(register: RegisterDefinition) -> str:
    """Why a register cannot be changed through the platform (the error's detail)."""
    return (
        f"The {register.name} register is owned by the department {register.owner!r}: "
        "the platform reads it under a data-sharing agreement and never changes it. "
        "Changes go through that department's own services."
    )


@dataclass(frozen=True)
class RegisterRecord:
    """What a department register answered for one key, cut to what the agreement covers."""

    register: RegisterDefinition
    found: bool
    content: dict[str, Any]
    agreement_id: str
    consent_id: str | None


@dataclass(frozen=True)
class _Permit:
    agreement: DataSharingAgreement
    consent_id: str | None


def _agreement_for(
    agreements: tuple[DataSharingAgreement, ...],
    register: RegisterDefinition,
    reader: str | None,
    now: datetime,
) -> DataSharingAgreement | None:
    for agreement in agreements:
        if (
            agreement.capability == register.capability
            and agreement.owner == register.owner
            and agreement.reader == reader
            and agreement.in_force(now.date())
        ):
            return agreement
    return None


async def _permit(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    register: RegisterDefinition,
    subject: str | None,
) -> _Permit:
    async with uow:
        now = clock.now()
        agreements = await approved_agreements(uow.session)
        agreement = _agreement_for(agreements, register, principal.department, now)
        if agreement is None:
            raise Forbidden(
                f"No data-sharing agreement in force lets the department "
                f"{principal.department!r} read the {register.name} register, which the "
                f"department {register.owner!r} owns."
            )
        consent_id = None
        if agreement.consent_required:
            consent = (
                await active_consent(uow.session, subject, agreement.id, now) if subject else None
            )
            if consent is None:
                raise Forbidden(
                    f"Agreement {agreement.id} lets the {register.name} register be read only "
                    "with the data subject's consent, and no consent in force of the person "
                    "named in SubjectID covers it."
                )
            consent_id = consent.id
            if register.subject_field is None:
                raise Forbidden(
                    f"Agreement {agreement.id} lets the {register.name} register be read only "
                    "with the data subject's consent, and its records do not name the person "
                    "they are about, so no consent can be matched to a record: it is not read "
                    "through this API."
                )
        return _Permit(agreement, consent_id)


async def _ask(
    gateway: CapabilityGateway, register: RegisterDefinition, key_value: str, read_id: str
) -> dict[str, Any] | None:
    assert register.capability is not None
    try:
        result = await gateway.call(
            CapabilityCall(
                department=register.owner,
                capability=register.capability,
                input={register.key: key_value},
                idempotency_key=f"register-read:{read_id}",
            )
        )
    except ContractViolation as exc:
        raise RegisterUnavailable(
            f"The {register.name} register answered outside its contract: {exc}"
        ) from exc
    except PermanentError:
        return None  # the department does not know this key
    except TransientError as exc:
        raise RegisterUnavailable(
            f"The {register.name} register of the department {register.owner!r} could not "
            "be reached; nothing was read. Try again later."
        ) from exc
    if result.outcome is not CallOutcome.COMPLETED:
        raise RegisterUnavailable(
            f"The {register.name} register did not answer at once; nothing was read."
        )
    return dict(result.output)


async def read_department_register(
    uow: UnitOfWork,
    clock: Clock,
    gateway: CapabilityGateway,
    principal: Principal,
    register: RegisterDefinition,
    *,
    key_value: str,
    subject: str | None,
    im_client: str = "",
) -> RegisterRecord:
    """Read one record of a department's register for a machine client (ADR 0048).

    Refused (``Forbidden``, nothing called, nothing written) without an agreement in force
    naming the client's department as reader, or without the subject's consent where the
    agreement asks for it — and then only from a register whose records name their subject
    (``subject_field``), handing a record over only when it names that person. The read is
    recorded after the department answered: a data-use
    entry for ``subject`` and a ``register.read`` audit entry naming the client. A consent
    revoked while the department answered stops the answer from being handed over (the read is
    still recorded: it happened).
    """
    permit = await _permit(uow, clock, principal, register, subject)
    read_id = new_id()
    answer = await _ask(gateway, register, key_value, read_id)
    withheld = (
        answer is not None
        and permit.consent_id is not None
        and register.subject_field is not None
        and answer.get(register.subject_field) != subject
    )
    covered = {register.key, *permit.agreement.fields}
    content = (
        {name: answer.get(name) for name in register.field_names if name in covered}
        if answer is not None
        else {}
    )
    if answer is not None:
        content[register.key] = answer.get(register.key, key_value)
    async with uow:
        now = clock.now()
        fields = sorted(permit.agreement.fields)
        if answer is not None and subject and not withheld:
            uow.session.add(
                DataUseRow(
                    id=read_id,
                    subject=subject,
                    draft_id=read_id,  # no draft: the read's own id keeps the column's meaning
                    application_id=None,
                    capability=permit.agreement.capability,
                    owner=permit.agreement.owner,
                    reader=permit.agreement.reader,
                    agreement_id=permit.agreement.id,
                    consent_id=permit.consent_id,
                    legal_basis=permit.agreement.legal_basis,
                    fields=fields,
                    purpose=permit.agreement.purpose.en,
                    read_at=now,
                )
            )
        await append_audit(
            uow.session,
            AuditRecord(
                actor=principal.audit_name,
                action=AuditAction.REGISTER_READ,
                subject_type="register",
                subject_id=register.name,
                occurred_at=now,
                department=register.owner,
                purpose=permit.agreement.purpose.en,
                fields=tuple(fields) if answer is not None else (),
                details={
                    "agreement": permit.agreement.id,
                    "consent": permit.consent_id,
                    "found": answer is not None,
                    "withheld": withheld,
                    "read": read_id,
                    "information_mediator_client": im_client,
                },
            ),
        )
        still = permit.consent_id is None or (
            subject is not None
            and await active_consent(uow.session, subject, permit.agreement.id, now) is not None
        )
        await uow.commit()
    if withheld:
        raise Forbidden(
            f"The {register.name} record of {key_value!r} is not about the person named in "
            "SubjectID: their consent does not cover it, and nothing read is handed over."
        )
    if not still:
        raise Forbidden(
            f"The consent covering agreement {permit.agreement.id} was revoked while the "
            "register answered: nothing read under it is handed over."
        )
    return RegisterRecord(
        register, answer is not None, content, permit.agreement.id, permit.consent_id
    )


@dataclass(frozen=True)
class PersonalDataUse:
    """One read of a person's data from a register, as ``MyPersonalDataUsage`` lists it."""

    id: str
    reader: str  # the reading department
    reader_name: str  # its name (English)
    capability: str
    purpose: str
    fields: tuple[str, ...]
    read_at: datetime
    reference: str  # the application the read served, else the read itself


async def personal_data_usage(
    uow: UnitOfWork, principal: Principal, user_id: str, register: RegisterDefinition
) -> list[PersonalDataUse]:
    """Who read ``user_id``'s data from ``register``, newest first — for that person only.

    Anyone else (another person, staff, a machine client) is refused: the data-use log of a
    person is theirs to see (auditors read the audit chain instead)."""
    if principal.subject != user_id:
        raise Forbidden("A person sees only who used their own data: userId is not you.")
    if register.capability is None:
        return []  # the licence register holds businesses' licences, read without a subject
    async with uow:
        names = await department_names(uow.session)
        rows = await uow.session.scalars(
            select(DataUseRow)
            .where(DataUseRow.subject == user_id, DataUseRow.capability == register.capability)
            .order_by(DataUseRow.read_at.desc(), DataUseRow.id)
        )
        return [
            PersonalDataUse(
                id=row.id,
                reader=row.reader,
                reader_name=names[row.reader].en if row.reader in names else row.reader,
                capability=row.capability,
                purpose=row.purpose,
                fields=tuple(row.fields),
                read_at=row.read_at,
                reference=row.application_id or row.draft_id,
            )
            for row in rows
        ]
