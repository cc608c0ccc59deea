"""The staff directory (ADR 0042): who works in which department, in which roles, who is away.

An entry is what the staff identity provider last said of a person (``sign_in_staff``, on each
sign-in) or, in the demo, a persona loaded by ``demo load`` (``load_demo_staff``). A department
administrator adds what the provider does not carry (``civicloom.identity.grants``). Work
queues, the "assign to" lists, SLA reminders, escalations and officer notifications read
``department_staff``; nothing reads the personas file for staff but the dev login.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.db import UnitOfWork
from civicloom.departments import list_departments
from civicloom.identity.domain import STAFF_ROLES_OF_QUEUE, Role, ScopedPrincipal, mandates_of
from civicloom.identity.oidc import OidcError, StaffClaims
from civicloom.identity.tables import SessionRow, StaffGrantRow, StaffRow
from civicloom.kernel import Clock, Principal
from civicloom.observability import get_logger

log = get_logger(__name__)

# Roles held within one department (the department's own step roles come from its file).
DEPARTMENT_SCOPED_ROLES = frozenset(
    {
        Role.OFFICER.value,
        Role.SUPERVISOR.value,
        Role.SERVICE_OWNER.value,
        Role.FINANCE_OFFICER.value,
        Role.DEPARTMENT_ADMIN.value,
        Role.RULE_OWNER.value,
    }
)
# Roles of the central team, held without a department.
PLATFORM_ROLES = frozenset(
    {Role.OPERATOR.value, Role.AUDITOR.value, Role.PLATFORM_OWNER.value, Role.QUALITY_GATE.value}
)
STAFF_SOURCES = ("oidc-staff", "demo", "staff-import")


class GrantKind(StrEnum):
    """What a department administrator grants beyond the identity provider's claims."""

    ACTING_UP = "acting-up"  # holds another role of the department for a period
    LEAVE = "leave"  # away: offered no work, sent no escalations
    DELEGATION = "delegation"  # away, and a colleague works in their roles meanwhile


@dataclass(frozen=True)
class StaffGrant:
    """One grant, as the directory keeps it."""

    id: str
    department: str
    subject: str
    kind: GrantKind
    role: str | None
    delegate: str | None
    starts_on: date
    ends_on: date
    reason: str
    granted_by: str
    granted_at: datetime
    revoked_at: datetime | None

    def active(self, today: date) -> bool:
        """Whether the grant holds today (its days are inclusive)."""
        return self.revoked_at is None and self.starts_on <= today <= self.ends_on


@dataclass(frozen=True)
class StaffMember:
    """A person of a department with every role they hold today (their identity provider's,
    plus acting-up and delegated roles) and whether they can be given work."""

    id: str
    name: str
    department: str
    roles: frozenset[str]
    email: str | None = None
    locale: str = "en"
    available: bool = True
    provider_roles: frozenset[str] = frozenset()


def grant_view(row: StaffGrantRow) -> StaffGrant:
    """The view of a grant row."""
    return StaffGrant(
        id=row.id,
        department=row.department,
        subject=row.subject,
        kind=GrantKind(row.kind),
        role=row.role,
        delegate=row.delegate,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        reason=row.reason,
        granted_by=row.granted_by,
        granted_at=row.granted_at,
        revoked_at=row.revoked_at,
    )


def effective_roles(
    subject: str,
    provider_roles: Mapping[str, frozenset[str]],
    grants: Iterable[StaffGrant],
    today: date,
) -> frozenset[str]:
    """The roles ``subject`` holds today: their provider's, the roles they act up in, and the
    roles of each colleague who delegated work to them."""
    roles = set(provider_roles.get(subject, frozenset()))
    for grant in grants:
        if not grant.active(today):
            continue
        if grant.kind is GrantKind.ACTING_UP and grant.subject == subject and grant.role:
            roles.add(grant.role)
        if grant.kind is GrantKind.DELEGATION and grant.delegate == subject:
            # a delegate works the delegator's cases; administration is not delegated
            roles.update(provider_roles.get(grant.subject, frozenset()) - _NOT_DELEGATED)
    return frozenset(roles)


_NOT_DELEGATED = frozenset({Role.DEPARTMENT_ADMIN.value}) | PLATFORM_ROLES
"""Administration and platform-wide roles (operator, auditor, platform owner) stay with their
holder: a delegation hands over department work only."""
_AWAY = (GrantKind.LEAVE, GrantKind.DELEGATION)


def is_away(subject: str, grants: Iterable[StaffGrant], today: date) -> bool:
    """Whether ``subject`` is on leave or has delegated their work today."""
    return any(g.active(today) and g.subject == subject and g.kind in _AWAY for g in grants)


def roles_end(subject: str, grants: Iterable[StaffGrant], today: date) -> datetime | None:
    """When the earliest grant that gives ``subject`` a role today ends (a session carrying
    that role must end then too)."""
    ends = [
        g.ends_on
        for g in grants
        if g.active(today)
        and (
            (g.kind is GrantKind.ACTING_UP and g.subject == subject)
            or (g.kind is GrantKind.DELEGATION and g.delegate == subject)
        )
    ]
    if not ends:
        return None
    return datetime.combine(min(ends) + timedelta(days=1), time(), tzinfo=UTC)


async def department_grants(session: AsyncSession, department: str) -> list[StaffGrant]:
    """Every grant of a department not yet revoked, newest first (one statement)."""
    rows = await session.scalars(
        select(StaffGrantRow)
        .where(StaffGrantRow.department == department, StaffGrantRow.revoked_at.is_(None))
        .order_by(StaffGrantRow.granted_at.desc(), StaffGrantRow.id)
    )
    return [grant_view(r) for r in rows]


async def department_members(
    session: AsyncSession, department: str, today: date
) -> list[StaffMember]:
    """Everyone the directory places in ``department``, away or not, with today's roles (two
    statements)."""
    rows = list(
        await session.scalars(
            select(StaffRow).where(StaffRow.department == department).order_by(StaffRow.subject)
        )
    )
    grants = await department_grants(session, department)
    provider = {r.subject: frozenset(r.roles) for r in rows}
    return [
        StaffMember(
            id=r.subject,
            name=r.display_name,
            department=department,
            roles=effective_roles(r.subject, provider, grants, today),
            email=r.email,
            locale=r.locale,
            available=not is_away(r.subject, grants, today),
            provider_roles=provider[r.subject],
        )
        for r in rows
    ]


async def department_staff(
    session: AsyncSession, department: str, today: date
) -> dict[str, StaffMember]:
    """The officers and supervisors of one department who can be given work today, by id.

    The one place that says who is staff (ADR 0034, 0042): the directory, less anyone on leave
    or who delegated their work; acting-up and delegated roles count."""
    return {
        m.id: m
        for m in await department_members(session, department, today)
        if m.available and STAFF_ROLES_OF_QUEUE & m.roles
    }


async def read_department_staff(
    uow: UnitOfWork, clock: Clock, department: str | None
) -> dict[str, StaffMember]:
    """``department_staff`` in its own unit of work (for pages and routes)."""
    if not department:
        return {}
    async with uow:
        return await department_staff(uow.session, department, clock.now().date())


async def staff_contact(session: AsyncSession, subject: str) -> StaffMember | None:
    """A member of staff's name, address and language (None: not in the directory)."""
    row = await session.get(StaffRow, subject)
    if row is None:
        return None
    return StaffMember(
        id=row.subject,
        name=row.display_name,
        department=row.department or "",
        roles=frozenset(row.roles),
        email=row.email,
        locale=row.locale,
        provider_roles=frozenset(row.roles),
    )


async def known_roles(session: AsyncSession) -> dict[str, frozenset[str]]:
    """Every registered department's roles: the platform's department roles plus the step
    roles its file declares."""
    return {
        d.id: DEPARTMENT_SCOPED_ROLES | frozenset(d.roles) for d in await list_departments(session)
    }


def claims_refusal(
    claims: StaffClaims, departments: Mapping[str, frozenset[str]]
) -> OidcError | None:
    """Why these claims cannot be accepted (no staff role, several departments, an unknown
    department or role), or None."""
    if claims.problem is not None:
        return OidcError(*claims.problem)
    department = claims.department
    if department is not None and department not in departments:
        return OidcError(
            "unknown-department",
            f"the identity provider places you in department {department!r}, which this"
            " platform does not know",
        )
    allowed = PLATFORM_ROLES | (departments[department] if department else frozenset())
    unknown = sorted(claims.roles - allowed)
    if unknown:
        where = f" in department {department!r}" if department else " without a department"
        return OidcError(
            "unknown-role",
            f"the identity provider gives you the role {unknown[0]!r}, which this platform does"
            f" not know{where}",
        )
    return None


async def _grants_touching(session: AsyncSession, subjects: Sequence[str]) -> list[StaffGrant]:
    rows = await session.scalars(
        select(StaffGrantRow).where(
            StaffGrantRow.revoked_at.is_(None),
            or_(StaffGrantRow.subject.in_(subjects), StaffGrantRow.delegate.in_(subjects)),
        )
    )
    return [grant_view(r) for r in rows]


async def directory_roles(
    session: AsyncSession, subject: str, today: date
) -> tuple[frozenset[str], datetime | None] | None:
    """Today's roles of a directory entry and when the earliest granted one ends (None: the
    person is not in the directory)."""
    row = await session.get(StaffRow, subject)
    if row is None:
        return None
    # only their department's grants: someone who moved leaves the old department's behind
    grants = [
        g
        for g in await _grants_touching(session, [subject])
        if g.active(today) and g.department == row.department
    ]
    delegators = [g.subject for g in grants if g.kind is GrantKind.DELEGATION]
    provider = {subject: frozenset(row.roles)}
    if delegators:
        for other in await session.scalars(
            select(StaffRow).where(StaffRow.subject.in_(delegators))
        ):
            provider[other.subject] = frozenset(other.roles)
    return effective_roles(subject, provider, grants, today), roles_end(subject, grants, today)


async def refresh_sessions(session: AsyncSession, subject: str, now: datetime) -> None:
    """Give the live staff sessions of ``subject`` today's roles (after a grant changed), ending
    no later than the granted roles do."""
    found = await directory_roles(session, subject, now.date())
    if found is None:
        return
    roles, until = found
    live = select(SessionRow).where(
        SessionRow.subject == subject, SessionRow.authenticated_by.in_(("oidc-staff", "dev-login"))
    )
    for row in await session.scalars(live):
        row.roles = sorted(roles)
        if until is not None and row.expires_at > until:
            row.expires_at = until


async def upsert_staff_entry(
    session: AsyncSession,
    *,
    subject: str,
    name: str,
    email: str | None,
    locale: str,
    department: str | None,
    roles: Sequence[str],
    source: str,
    actor: str,
    now: datetime,
    signed_in: bool,
) -> StaffRow:
    row = await session.get(StaffRow, subject)
    before = (row.department, sorted(row.roles)) if row is not None else None
    if row is None:
        row = StaffRow(subject=subject, signed_in_at=None)
        session.add(row)
    row.display_name, row.email, row.locale = name, email, locale
    row.department, row.roles, row.source, row.updated_at = department, sorted(roles), source, now
    if signed_in:
        row.signed_in_at = now
    after = (department, sorted(roles))
    if before != after:
        await append_audit(
            session,
            AuditRecord(
                actor=actor,
                action=AuditAction.STAFF_UPDATED,
                subject_type="staff",
                subject_id=subject,
                occurred_at=now,
                department=department or (before[0] if before else None),
                details={
                    "source": source,
                    "department": department,
                    "roles": sorted(roles),
                    "previous": None
                    if before is None
                    else {"department": before[0], "roles": before[1]},
                },
            ),
        )
    return row


@dataclass(frozen=True)
class StaffSignIn:
    """A staff member signed in: who they act as, and when their granted roles end."""

    principal: ScopedPrincipal
    roles_until: datetime | None


async def sign_in_staff(uow: UnitOfWork, clock: Clock, claims: StaffClaims) -> StaffSignIn:
    """Keep the directory entry as the provider describes the person, then sign them in with
    today's roles. Claims naming a department or role the platform does not know are refused
    (``OidcError``, logged): the entry then holds no roles, so a removed or wrong claim leaves
    the person no role anywhere until the provider is corrected."""
    now = clock.now()
    async with uow:
        session = uow.session
        refusal = claims_refusal(claims, await known_roles(session))
        known = await session.get(StaffRow, claims.subject)
        if refusal is None or known is not None:
            # refused: no role anywhere, listed where they were (their administrator sees it);
            # a person the directory never knew is not added for a refused sign-in
            await upsert_staff_entry(
                session,
                subject=claims.subject,
                name=claims.name,
                email=claims.email,
                locale=claims.locale,
                department=known.department if refusal and known else claims.department,
                roles=() if refusal else sorted(claims.roles),
                source="oidc-staff",
                actor=f"oidc:{claims.subject}",
                now=now,
                signed_in=True,
            )
        if refusal is not None:
            # the provider no longer vouches for their roles: their other sessions end too
            await session.execute(
                delete(SessionRow).where(
                    SessionRow.subject == claims.subject,
                    SessionRow.authenticated_by == "oidc-staff",
                )
            )
            await uow.commit()
            log.warning(
                "staff_claims_refused",
                reason=refusal.reason,
                department=claims.department,
                roles=sorted(claims.roles),
            )
            raise refusal
        await session.flush()
        found = await directory_roles(session, claims.subject, now.date())
        assert found is not None
        roles, until = found
        await refresh_sessions(session, claims.subject, now)  # their other browsers, too
        await uow.commit()
    principal = ScopedPrincipal(
        subject=claims.subject,
        display_name=claims.name,
        roles=roles,
        department=claims.department,
        authenticated_by="oidc-staff",
    )
    return StaffSignIn(principal, until)


async def with_directory_roles(uow: UnitOfWork, clock: Clock, principal: Principal) -> StaffSignIn:
    """A dev-login persona with the grants the directory holds for them (acting-up, delegated
    roles); a persona not in the directory keeps its own roles."""
    async with uow:
        found = await directory_roles(uow.session, principal.subject, clock.now().date())
    if found is None or principal.department is None:
        return StaffSignIn(
            ScopedPrincipal(
                subject=principal.subject,
                display_name=principal.display_name,
                roles=principal.roles,
                department=principal.department,
                authenticated_by=principal.authenticated_by,
                mandates=mandates_of(principal),
            ),
            None,
        )
    roles, until = found
    return StaffSignIn(
        ScopedPrincipal(
            subject=principal.subject,
            display_name=principal.display_name,
            roles=principal.roles | roles,
            department=principal.department,
            authenticated_by=principal.authenticated_by,
            mandates=mandates_of(principal),
        ),
        until,
    )


@dataclass(frozen=True)
class DemoStaff:
    """A persona to load as a directory entry."""

    id: str
    name: str
    department: str | None
    roles: frozenset[str]
    email: str | None
    locale: str


async def load_demo_staff(session: AsyncSession, people: Iterable[DemoStaff], now: datetime) -> int:
    """Load the demo personas who are staff as directory entries (in the caller's transaction);
    an entry a real sign-in wrote is left alone. Returns how many were new or changed."""
    changed = 0
    for person in people:
        if not person.roles - {Role.CITIZEN.value, Role.BUSINESS_REPRESENTATIVE.value}:
            continue
        row = await session.get(StaffRow, person.id)
        if row is not None and row.source != "demo":
            continue
        same = row is not None and (
            row.department,
            sorted(row.roles),
            row.display_name,
            row.email,
            row.locale,
        ) == (person.department, sorted(person.roles), person.name, person.email, person.locale)
        if same:
            continue
        await upsert_staff_entry(
            session,
            subject=person.id,
            name=person.name,
            email=person.email,
            locale=person.locale,
            department=person.department,
            roles=sorted(person.roles),
            source="demo",
            actor="system:demo-load",
            now=now,
            signed_in=False,
        )
        changed += 1
    return changed


def principal_is_department_admin(principal: Principal) -> bool:
    """Whether the principal administers their department's directory grants."""
    return Role.DEPARTMENT_ADMIN.value in principal.roles and principal.department is not None


@dataclass(frozen=True)
class MappedGroup:
    """One group of the mapping, and why it would refuse a sign-in (None: it would not)."""

    group: str
    department: str | None
    roles: tuple[str, ...]
    problem: str | None


async def check_group_mapping(
    uow: UnitOfWork, mapping: Mapping[str, tuple[str | None, tuple[str, ...]]]
) -> list[MappedGroup]:
    """Each group of a mapping against the registered departments and their roles (a group
    that names an unknown department or role refuses every sign-in of its members)."""
    async with uow:
        departments = await known_roles(uow.session)
    checked = []
    for group, (department, roles) in sorted(mapping.items()):
        claims = StaffClaims(group, group, None, "en", department, frozenset(roles))
        refusal = claims_refusal(claims, departments)
        checked.append(MappedGroup(group, department, roles, str(refusal) if refusal else None))
    return checked


async def read_department_members(
    uow: UnitOfWork, clock: Clock, department: str
) -> list[StaffMember]:
    """``department_members`` in its own unit of work (for the CLI)."""
    async with uow:
        return await department_members(uow.session, department, clock.now().date())
