"""What a department administrator grants beyond the identity provider (ADR 0042): acting up
in a role, leave, delegation of work to a colleague; each grant and each withdrawal is one
transaction with its audit entry, and the live sessions it touches take it at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.db import UnitOfWork
from civicloom.identity.directory import (
    GrantKind,
    StaffGrant,
    StaffMember,
    department_grants,
    department_members,
    grant_view,
    known_roles,
    principal_is_department_admin,
    refresh_sessions,
)
from civicloom.identity.domain import Forbidden, Role
from civicloom.identity.tables import StaffGrantRow, StaffRow
from civicloom.kernel import (
    Clock,
    Conflict,
    FieldError,
    NotFound,
    Principal,
    ValidationFailed,
    new_id,
)

MAX_GRANT_DAYS = 366
MAX_REASON = 500


@dataclass(frozen=True)
class GrantRequest:
    """A grant as a department administrator asks for it."""

    kind: GrantKind
    subject: str
    starts_on: date
    ends_on: date
    reason: str
    role: str | None = None
    delegate: str | None = None


@dataclass(frozen=True)
class DepartmentDirectory:
    """A department's people and the grants in force or to come."""

    department: str
    members: list[StaffMember]
    grants: list[StaffGrant]
    grantable_roles: list[str]


def _require_admin(principal: Principal) -> str:
    if not principal_is_department_admin(principal):
        raise Forbidden("only a department administrator manages the directory's grants")
    assert principal.department is not None
    return principal.department


async def read_department_directory(
    uow: UnitOfWork, clock: Clock, principal: Principal
) -> DepartmentDirectory:
    """The administrator's own department: its people (today's roles, who is away) and the
    grants not withdrawn that have not ended."""
    department = _require_admin(principal)
    today = clock.now().date()
    async with uow:
        session = uow.session
        members = await department_members(session, department, today)
        grants = [g for g in await department_grants(session, department) if g.ends_on >= today]
        roles = (await known_roles(session)).get(department, frozenset())
    grantable = sorted(roles - {Role.DEPARTMENT_ADMIN.value})
    return DepartmentDirectory(department, members, grants, grantable)


def _errors(
    request: GrantRequest,
    principal: Principal,
    members: dict[str, StaffRow],
    roles: frozenset[str],
    today: date,
) -> list[FieldError]:
    errors: list[FieldError] = []
    member = members.get(request.subject)
    if member is None:
        errors.append(
            FieldError("subject", "department-staff", "choose a person of your department")
        )
    elif request.subject == principal.subject:
        errors.append(FieldError("subject", "not-yourself", "you cannot grant to yourself"))
    if request.ends_on < request.starts_on:
        errors.append(FieldError("ends_on", "ends-after-start", "the end is before the start"))
    elif request.ends_on < today:
        errors.append(FieldError("ends_on", "not-in-the-past", "the end date has passed"))
    elif request.ends_on - request.starts_on > timedelta(days=MAX_GRANT_DAYS - 1):
        errors.append(FieldError("ends_on", "at-most-a-year", "a grant lasts at most a year"))
    reason = request.reason.strip()
    if not reason or len(reason) > MAX_REASON:
        errors.append(FieldError("reason", "required", "say why (at most 500 characters)"))
    if request.kind is GrantKind.ACTING_UP:
        if request.role not in roles or request.role == Role.DEPARTMENT_ADMIN.value:
            errors.append(FieldError("role", "department-role", "choose a role of your department"))
        elif member is not None and request.role in member.roles:
            errors.append(FieldError("role", "already-held", "the person already holds it"))
    if request.kind is GrantKind.DELEGATION:
        if request.delegate not in members:
            errors.append(
                FieldError("delegate", "department-staff", "choose a colleague of your department")
            )
        elif request.delegate == request.subject:
            errors.append(FieldError("delegate", "another-person", "choose someone else"))
        elif request.delegate == principal.subject:
            # a delegate holds the delegator's roles: an administrator never delegates to self
            errors.append(FieldError("delegate", "not-yourself", "you cannot grant to yourself"))
    return errors


async def grant_to_staff(
    uow: UnitOfWork, clock: Clock, principal: Principal, request: GrantRequest
) -> StaffGrant:
    """Grant acting-up, leave or a delegation to a person of the administrator's department
    (422 naming the field otherwise; nothing is written)."""
    department = _require_admin(principal)
    now = clock.now()
    async with uow:
        session = uow.session
        rows = await session.scalars(select(StaffRow).where(StaffRow.department == department))
        members = {r.subject: r for r in rows}
        roles = (await known_roles(session)).get(department, frozenset())
        errors = _errors(request, principal, members, roles, now.date())
        if errors:
            raise ValidationFailed(errors)
        row = StaffGrantRow(
            id=new_id(),
            department=department,
            subject=request.subject,
            kind=request.kind.value,
            role=request.role if request.kind is GrantKind.ACTING_UP else None,
            delegate=request.delegate if request.kind is GrantKind.DELEGATION else None,
            starts_on=request.starts_on,
            ends_on=request.ends_on,
            reason=request.reason.strip(),
            granted_by=principal.subject,
            granted_at=now,
            revoked_at=None,
            revoked_by=None,
        )
        session.add(row)
        await _refresh_and_audit(session, row, principal, AuditAction.STAFF_GRANTED, now)
        granted = grant_view(row)
        await uow.commit()
    return granted


async def revoke_staff_grant(
    uow: UnitOfWork, clock: Clock, principal: Principal, grant_id: str
) -> StaffGrant:
    """Withdraw a grant of the administrator's department (404 for another department's)."""
    department = _require_admin(principal)
    now = clock.now()
    async with uow:
        session = uow.session
        row = await session.get(StaffGrantRow, grant_id)
        if row is None or row.department != department:
            raise NotFound("no such grant in your department")
        if row.revoked_at is not None:
            raise Conflict("the grant was already withdrawn")
        row.revoked_at, row.revoked_by = now, principal.subject
        await _refresh_and_audit(session, row, principal, AuditAction.STAFF_GRANT_REVOKED, now)
        revoked = grant_view(row)
        await uow.commit()
    return revoked


async def _refresh_and_audit(
    session: AsyncSession,
    row: StaffGrantRow,
    principal: Principal,
    action: AuditAction,
    now: datetime,
) -> None:
    """After a grant changed: the sessions of everyone it touches carry their new roles at
    once, and the change is audited under the grant's department."""
    await session.flush()
    for affected in sorted({row.subject, *([row.delegate] if row.delegate else [])}):
        await refresh_sessions(session, affected, now)
    await append_audit(
        session,
        AuditRecord(
            actor=principal.audit_name,
            action=action,
            subject_type="staff",
            subject_id=row.subject,
            occurred_at=now,
            department=row.department,
            details=_details(row),
        ),
    )


def _details(row: StaffGrantRow) -> dict[str, str | None]:
    return {
        "grant": row.id,
        "kind": row.kind,
        "role": row.role,
        "delegate": row.delegate,
        "starts_on": row.starts_on.isoformat(),
        "ends_on": row.ends_on.isoformat(),
    }
