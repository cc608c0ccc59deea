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

from sqlalchemy import Select, func, or_, select

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.db import UnitOfWork
from civicloom.documents.domain import LicenceStatus
from civicloom.documents.tables import LicenceRow
from civicloom.identity import Forbidden, Role, has_any_role
from civicloom.kernel import Clock, Conflict, NotFound, Principal

LICENCE_COLUMNS = {
    "ID": LicenceRow.id,
    "ApplicationID": LicenceRow.application_id,
    "Activity": LicenceRow.activity,
    "Premises": LicenceRow.premises,
    "IssuingDepartment": LicenceRow.issuing_department,
}
"""Register fields held in their own column: filtered in the database."""
HOLDER_FIELDS = {"HolderName": "name", "RegistrationNumber": "registration_number"}
"""Register fields held in the signed holder: filtered after the column filters."""


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


def _column(name: str) -> Any:
    """The SQL expression holding a register field, or None for a computed one (Status, times)."""
    if name in LICENCE_COLUMNS:
        return LICENCE_COLUMNS[name]
    if name in HOLDER_FIELDS:
        return LicenceRow.holder[HOLDER_FIELDS[name]].as_string()
    return None


SEARCHED = ("ID", "HolderName", "RegistrationNumber", "Activity", "Premises")
"""The fields ``search`` looks in when no ``filter`` names one."""


def _in_sql(query: LicenceQuery) -> bool:
    """Whether every criterion is a column the database can filter (else rows are filtered)."""
    fields = [*query.match, *([query.search_field] if query.search_field else [])]
    return all(_column(name) is not None for name in fields)


def _matches(record: LicenceRecord, query: LicenceQuery) -> bool:
    content = record.content()
    for name, value in query.match.items():
        if str(content.get(name) or "") != value:
            return False
    if query.search:
        needle = query.search.lower()
        fields = (query.search_field,) if query.search_field else SEARCHED
        return any(needle in str(content.get(name) or "").lower() for name in fields)
    return True


def _filtered(query: LicenceQuery) -> Select[LicenceRow]:
    stmt = select(LicenceRow)
    for name, value in query.match.items():
        column = _column(name)
        if column is not None:
            stmt = stmt.where(column == value)
    if query.search and _in_sql(query):
        needle = query.search.lower()
        fields = (query.search_field,) if query.search_field else SEARCHED
        stmt = stmt.where(
            or_(*(func.lower(_column(name)).contains(needle, autoescape=True) for name in fields))
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
    """How many licences match, and the requested page of them; the records handed out are
    audited (``register.read``) in the same transaction.

    Criteria on stored fields are filtered, counted and paged by the database; a criterion on a
    computed field (``Status``, the times) filters the rows here."""
    async with uow:
        now = clock.now()
        filtered = _filtered(query)
        if _in_sql(query):
            counted = select(func.count()).select_from(filtered.subquery())
            count = int(await uow.session.scalar(counted) or 0)
            paged = _ordered(filtered, query).offset(query.offset).limit(query.limit)
            page = [_record(row, now) for row in await uow.session.scalars(paged)]
        else:
            rows = await uow.session.scalars(_ordered(filtered, query))
            records = [r for r in (_record(row, now) for row in rows) if _matches(r, query)]
            count, page = len(records), records[query.offset : query.offset + query.limit]
        if page:
            await _audit_read(uow, principal, now, page, operation, im_client)
            await uow.commit()
        return count, page


async def licence_exists(uow: UnitOfWork, clock: Clock, query: LicenceQuery) -> bool:
    """Whether any licence matches (no record is handed out, so nothing is audited)."""
    async with uow:
        now = clock.now()
        if _in_sql(query):
            found = await uow.session.scalar(_filtered(query).limit(1))
            return found is not None
        rows = await uow.session.scalars(_filtered(query))
        return any(_matches(_record(row, now), query) for row in rows)


async def _audit_read(
    uow: UnitOfWork,
    principal: Principal,
    now: datetime,
    records: list[LicenceRecord],
    operation: str,
    im_client: str,
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
                "licences": [r.id for r in records],
                "information_mediator_client": im_client,
            },
        ),
    )


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
                details={
                    "licence_id": licence_id,
                    "reason": reason,
                    "via": "digital-registries",
                    "information_mediator_client": im_client,
                },
            ),
        )
        record = _record(row, now)
        await uow.commit()
    return record
