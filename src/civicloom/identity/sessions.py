"""Browser sessions kept server-side: start (with rotation), resolve (timeouts), end."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, delete, select, update

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.db import UnitOfWork
from civicloom.identity.domain import ScopedPrincipal, mandates_of
from civicloom.identity.tables import SessionRow
from civicloom.kernel import Clock, Principal, sha256_hex


@dataclass(frozen=True)
class SessionPolicy:
    """Idle and absolute lifetimes; ``touch_every`` limits last-seen writes to one a minute."""

    idle: timedelta
    absolute: timedelta
    touch_every: timedelta = timedelta(seconds=60)


def _session_id(token: str) -> str:
    # Only the hash is stored: a leaked table does not yield usable cookies.
    return sha256_hex(token)


def _principal(row: SessionRow) -> ScopedPrincipal:
    return ScopedPrincipal(
        subject=row.subject,
        display_name=row.display_name,
        roles=frozenset(row.roles),
        department=row.department,
        authenticated_by=row.authenticated_by,
        mandates=frozenset(row.mandates),
    )


async def start_session(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    policy: SessionPolicy,
    *,
    id_token: str | None = None,
    replaces: str | None = None,
    ends_by: datetime | None = None,
) -> str:
    """Log the principal in: a fresh session token (any earlier session of this browser ends).
    ``ends_by``: the session ends then at the latest (a granted role ends, ADR 0042)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    async with uow:
        if replaces:
            await uow.session.execute(
                delete(SessionRow).where(SessionRow.id == _session_id(replaces))
            )
        uow.session.add(
            SessionRow(
                id=_session_id(token),
                subject=principal.subject,
                display_name=principal.display_name,
                roles=sorted(principal.roles),
                department=principal.department,
                mandates=sorted(mandates_of(principal)),
                authenticated_by=principal.authenticated_by,
                id_token=id_token,
                created_at=now,
                last_seen_at=now,
                expires_at=min(now + policy.absolute, ends_by or now + policy.absolute),
            )
        )
        await append_audit(
            uow.session,
            AuditRecord(
                actor=principal.audit_name,
                action=AuditAction.LOGIN,
                subject_type="principal",
                subject_id=principal.subject,
                occurred_at=now,
                department=principal.department,
                purpose="sign in",
                details={"method": principal.authenticated_by},
            ),
        )
        await uow.commit()
    return token


_SESSION_TABLE = cast(Table, SessionRow.__table__)
_SESSIONS = _SESSION_TABLE.c
# Built once: a statement made per request costs its construction and its cache key (issue 23).
_FIND_SESSION = select(
    _SESSIONS.subject,
    _SESSIONS.display_name,
    _SESSIONS.roles,
    _SESSIONS.department,
    _SESSIONS.mandates,
    _SESSIONS.authenticated_by,
    _SESSIONS.last_seen_at,
    _SESSIONS.expires_at,
).where(_SESSIONS.id == bindparam("session_id"))
_TOUCH_SESSION = (
    update(_SESSION_TABLE)
    .where(_SESSIONS.id == bindparam("session_id"))
    .values(last_seen_at=bindparam("now"))
)
_END_SESSION = delete(_SESSION_TABLE).where(_SESSIONS.id == bindparam("session_id"))
_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


async def resolve_session(
    uow: UnitOfWork, clock: Clock, token: str, policy: SessionPolicy
) -> ScopedPrincipal | None:
    """The principal of a live session, or None if unknown, idle too long or past its end
    (its row is deleted then); last seen moves to now at most once per ``touch_every``.

    On PostgreSQL the lookup runs in autocommit mode (ADR 0079): most requests write nothing
    and cost one round trip, no BEGIN and ROLLBACK; the delete or the touch that may follow is
    one statement, atomic on its own. SQLite keeps one transaction, as every unit of work."""
    now = clock.now()
    session_id = _session_id(token)
    async with uow:
        conn = await uow.session.connection(
            execution_options=_AUTOCOMMIT if uow.is_postgresql else None
        )
        row = (await conn.execute(_FIND_SESSION, {"session_id": session_id})).first()
        if row is None:
            return None
        if now >= row.expires_at or now - row.last_seen_at >= policy.idle:
            await conn.execute(_END_SESSION, {"session_id": session_id})
            await uow.commit()
            return None
        if now - row.last_seen_at >= policy.touch_every:
            touched = await conn.execute(_TOUCH_SESSION, {"session_id": session_id, "now": now})
            await uow.commit()
            if touched.rowcount == 0:  # ended (logout) since it was read
                return None
    return ScopedPrincipal(
        subject=row.subject,
        display_name=row.display_name,
        roles=frozenset(row.roles),
        department=row.department,
        authenticated_by=row.authenticated_by,
        mandates=frozenset(row.mandates),
    )


@dataclass(frozen=True)
class EndedSession:
    """What logout needs to continue at the identity provider."""

    authenticated_by: str
    id_token: str | None


async def end_session(uow: UnitOfWork, clock: Clock, token: str) -> EndedSession | None:
    """Log out: delete the session and audit it (None if there was no live session)."""
    async with uow:
        row = await uow.session.get(SessionRow, _session_id(token))
        if row is None:
            return None
        id_token = row.id_token
        principal = _principal(row)
        await uow.session.delete(row)
        await append_audit(
            uow.session,
            AuditRecord(
                actor=principal.audit_name,
                action=AuditAction.LOGOUT,
                subject_type="principal",
                subject_id=principal.subject,
                occurred_at=clock.now(),
                department=principal.department,
                purpose="sign out",
            ),
        )
        await uow.commit()
    return EndedSession(authenticated_by=principal.authenticated_by, id_token=id_token)


async def record_failed_login(
    uow: UnitOfWork, clock: Clock, *, method: str, reason: str, claimed: str | None = None
) -> None:
    """Audit a refused login (the reason is a rule name, never a token or a password)."""
    async with uow:
        await append_audit(
            uow.session,
            AuditRecord(
                actor=f"{method}:{claimed or 'anonymous'}",
                action=AuditAction.LOGIN_FAILED,
                subject_type="principal",
                subject_id=claimed or "anonymous",
                occurred_at=clock.now(),
                purpose="sign in",
                details={"method": method, "reason": reason},
            ),
        )
        await uow.commit()


async def record_denial(
    uow: UnitOfWork, clock: Clock, principal: Principal, *, method: str, route: str
) -> None:
    """Audit a refused request of an authenticated principal."""
    async with uow:
        await append_audit(
            uow.session,
            AuditRecord(
                actor=principal.audit_name,
                action=AuditAction.ACCESS_DENIED,
                subject_type="route",
                subject_id=f"{method} {route}"[:100],
                occurred_at=clock.now(),
                department=principal.department,
                details={"roles": sorted(principal.roles)},
            ),
        )
        await uow.commit()


async def purge_expired_sessions(uow: UnitOfWork, now: datetime, batch: int = 5000) -> int:
    """Delete sessions that expired before ``now`` (nobody can resume them), one batch per
    transaction over ``ix_sessions_expires_at``; how many were deleted."""
    purged = 0
    while True:
        async with uow:
            ids = list(
                await uow.session.scalars(
                    select(SessionRow.id).where(SessionRow.expires_at < now).limit(batch)
                )
            )
            if not ids:
                return purged
            await uow.session.execute(delete(SessionRow).where(SessionRow.id.in_(ids)))
            await uow.commit()
        purged += len(ids)
        if len(ids) < batch:
            return purged
