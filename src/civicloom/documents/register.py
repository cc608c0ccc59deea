"""The licence register: the licences the platform issued, read and revoked by other
governments' systems through the Digital Registries API (ADR 0048).

Every read that hands out licence records is audited (``register.read``: which client, which
licence numbers); revocation by a machine client is the issuing department's system acting on
its own licence, audited as ``licence.revoked`` like an officer's revocation. A licence's signed
terms never change: a changed licence is a new licence, issued on an application.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, or_, select

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.db import UnitOfWork
from civicloom.documents.domain import LicenceStatus
from civicloom.documents.tables import LicenceRow
from civicloom.identity import Forbidden, Role, has_any_role
from civicloom.kernel import Clock, Conflict, FieldError, NotFound, Principal, ValidationFailed

LICENCE_COLUMNS = {
    "ID": LicenceRow.id,
    "ApplicationID": LicenceRow.application_id,
    "Activity": LicenceRow.activity,
    "Premises": LicenceRow.premises,
    "IssuingDepartment": LicenceRow.issuing_department,
}
"""Register fields held in their own column."""
HOLDER_FIELDS = {"HolderName": "name", "RegistrationNumber": "registration_number"}
"""Register fields held in the signed holder (a JSON path the database reads)."""


@dataclass(frozen=True)
class LicenceRecord:
    """One licence as the register shows it."""

    id: str
    application_id: str
    holder_name: str
    registration_number: str
    activity: str
    premises: str
    issuing_department: str
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime
    revoked_at: datetime | None
    status: LicenceStatus

    def content(self) -> dict[str, Any]:
        """The record under the register's field names."""
        return {
            "ID": self.id,
            "ApplicationID": self.application_id,
            "HolderName": self.holder_name,
            "RegistrationNumber": self.registration_number,
            "Activity": self.activity,
            "Premises": self.premises,
            "IssuingDepartment": self.issuing_department,
            "IssuedAt": self.issued_at.isoformat(),
            "ValidFrom": self.valid_from.isoformat(),
            "ValidUntil": self.valid_until.isoformat(),
            "Status": self.status.value,
            "RevokedAt": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def _status(row: LicenceRow, now: datetime) -> LicenceStatus:
    if row.revoked_at is not None:
        return LicenceStatus.REVOKED
    if now >= row.valid_until:
        return LicenceStatus.EXPIRED
    if now < row.valid_from:
        return LicenceStatus.NOT_YET_VALID
    return LicenceStatus.VALID


def _record(row: LicenceRow, now: datetime) -> LicenceRecord:
    holder = row.holder or {}
    return LicenceRecord(
        id=row.id,
        application_id=row.application_id,
        holder_name=str(holder.get("name") or ""),
        registration_number=str(holder.get("registration_number") or ""),
        activity=row.activity,
        premises=row.premises,
        issuing_department=row.issuing_department,
        issued_at=row.issued_at,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        revoked_at=row.revoked_at,
        status=_status(row, now),
    )


@dataclass(frozen=True)
class LicenceQuery:
    """Which licences: exact field values, a case-insensitive search text, order and page."""

    match: dict[str, str]
    search: str | None = None
    search_field: str | None = None  # the one field ``search`` looks in; None: every text field
    descending: bool = False
    offset: int = 0
    limit: int = 10


TIME_FIELDS = {
    "IssuedAt": LicenceRow.issued_at,
    "ValidFrom": LicenceRow.valid_from,
    "ValidUntil": LicenceRow.valid_until,
    "RevokedAt": LicenceRow.revoked_at,
}
"""Register fields holding a time: matched exactly (an ISO 8601 time), never searched."""


def _status_sql(now: datetime) -> Any:
    """``Status`` computed by the database as ``_status`` computes it (same order of rules)."""
    return case(
        (LicenceRow.revoked_at.is_not(None), LicenceStatus.REVOKED.value),
        (LicenceRow.valid_until <= now, LicenceStatus.EXPIRED.value),
        (LicenceRow.valid_from > now, LicenceStatus.NOT_YET_VALID.value),
        else_=LicenceStatus.VALID.value,
    )


def _column(name: str, now: datetime) -> Any:
    """The SQL expression of a text register field (``Status`` computed from the times)."""
    if name in LICENCE_COLUMNS:
        return LICENCE_COLUMNS[name]
    if name in HOLDER_FIELDS:
        return LicenceRow.holder[HOLDER_FIELDS[name]].as_string()
    if name == "Status":
        return _status_sql(now)
    raise ValidationFailed([FieldError("filter", "text-field", f"{name} is not searched")])


SEARCHED = ("ID", "HolderName", "RegistrationNumber", "Activity", "Premises")
"""The fields ``search`` looks in when no ``filter`` names one."""


def _time(name: str, value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise ValidationFailed(
            [FieldError(f"query.{name}", "date-time", "give an ISO 8601 time with its offset")]
        )
    return at


def _filtered(query: LicenceQuery, now: datetime) -> Select[LicenceRow]:
    """Every criterion as SQL, computed fields included: the database filters, counts and
    pages, whatever the fields asked for (ADR 0054)."""
    stmt = select(LicenceRow)
    for name, value in query.match.items():
        if name in TIME_FIELDS:
            stmt = stmt.where(TIME_FIELDS[name] == _time(name, value))
        else:
            stmt = stmt.where(_column(name, now) == value)
    if query.search:
        if query.search_field in TIME_FIELDS:
            raise ValidationFailed(
                [FieldError("filter", "text-field", "a time is matched exactly, not searched")]
            )
        needle = query.search.lower()
        fields = (query.search_field,) if query.search_field else SEARCHED
        stmt = stmt.where(
            or_(
                *(
                    func.lower(_column(name, now)).contains(needle, autoescape=True)
                    for name in fields
                )
            )
        )
    return stmt


def _ordered(stmt: Select[LicenceRow], query: LicenceQuery) -> Select[LicenceRow]:
    order = LicenceRow.issued_at.desc() if query.descending else LicenceRow.issued_at
    return stmt.order_by(order, LicenceRow.id)


async def search_licence_register(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    query: LicenceQuery,
    *,
    operation: str,
    im_client: str = "",
) -> tuple[int, list[LicenceRecord]]:
    """How many licences match, and the requested page of them, filtered, counted and paged by
    the database; the read is audited (``register.read``) in the same transaction, an empty
    answer too (it tells the caller that no licence matches)."""
    async with uow:
        now = clock.now()
        filtered = _filtered(query, now)
        counted = select(func.count()).select_from(filtered.subquery())
        count = int(await uow.session.scalar(counted) or 0)
        paged = _ordered(filtered, query).offset(query.offset).limit(query.limit)
        page = [_record(row, now) for row in await uow.session.scalars(paged)]
        await _audit_read(uow, principal, now, [r.id for r in page], operation, im_client, query)
        await uow.commit()
        return count, page


async def licence_exists(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    query: LicenceQuery,
    *,
    im_client: str = "",
) -> bool:
    """Whether any licence matches; audited like a read (the answer says something about the
    register's records, found or not)."""
    async with uow:
        now = clock.now()
        found = await uow.session.scalar(_filtered(query, now).limit(1))
        ids = [found.id] if found is not None else []
        await _audit_read(uow, principal, now, ids, "exists", im_client, query)
        await uow.commit()
        return found is not None


async def _audit_read(
    uow: UnitOfWork,
    principal: Principal,
    now: datetime,
    licence_ids: list[str],
    operation: str,
    im_client: str,
    query: LicenceQuery,
) -> None:
    await append_audit(
        uow.session,
        AuditRecord(
            actor=principal.audit_name,
            action=AuditAction.REGISTER_READ,
            subject_type="register",
            subject_id="licences",
            occurred_at=now,
            purpose=f"Digital Registries {operation}",
            fields=("HolderName", "RegistrationNumber"),
            details={
                "licences": licence_ids,
                "criteria": sorted(
                    {*query.match, *([query.search_field or "search"] if query.search else [])}
                ),
                "information_mediator_client": im_client,
            },
        ),
    )


async def revoke_in_unit(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    licence_id: str,
    reason: str,
    details: dict[str, Any] | None = None,
) -> tuple[LicenceRow, datetime]:
    """Revoke a licence of the principal's own department inside the open unit of work,
    audited (404 for another department's or an unknown licence, 409 if already revoked).
    The caller has checked the role and commits: the one write path of both revocations."""
    row = await uow.session.get(LicenceRow, licence_id)
    if row is None or principal.department != row.issuing_department:
        raise NotFound(f"no licence {licence_id!r}")
    if row.revoked_at is not None:
        raise Conflict("this licence is already revoked")
    now = clock.now()
    row.revoked_at, row.revoked_by, row.revocation_reason = now, principal.audit_name, reason
    await append_audit(
        uow.session,
        AuditRecord(
            actor=principal.audit_name,
            action=AuditAction.LICENCE_REVOKED,
            subject_type="application",
            subject_id=row.application_id,
            occurred_at=now,
            department=row.issuing_department,
            purpose="revoke licence",
            details={"licence_id": licence_id, "reason": reason, **(details or {})},
        ),
    )
    return row, now


async def revoke_licence_as_client(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    licence_id: str,
    reason: str,
    im_client: str = "",
) -> LicenceRecord:
    """The issuing department's own system revokes one of its licences (audited).

    Only a machine client of the issuing department: a client of another department is told
    the licence is not there (404, as officers of another department are); people revoke
    through the back office (``revoke_licence``)."""
    if not has_any_role(principal, {Role.MACHINE_CLIENT.value}):
        raise Forbidden("licences are revoked here only by the issuing department's system")
    async with uow:
        row, now = await revoke_in_unit(
            uow,
            clock,
            principal,
            licence_id,
            reason,
            {"via": "digital-registries", "information_mediator_client": im_client},
        )
        record = _record(row, now)
        await uow.commit()
    return record
