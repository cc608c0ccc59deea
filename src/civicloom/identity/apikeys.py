"""API keys for machine clients: ``cl_<prefix>_<secret>``, shown once, stored as a hash."""

from __future__ import annotations

import hmac
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.db import UnitOfWork
from civicloom.identity.domain import Role, ScopedPrincipal
from civicloom.identity.tables import ApiClientRow
from civicloom.kernel import Clock, FieldError, NotFound, ValidationFailed, new_id, sha256_hex

KEY_PATTERN = re.compile(r"^cl_(?P<prefix>[a-z0-9]{10})_(?P<secret>[A-Za-z0-9_-]{43})$")
SCOPE_PATTERN = re.compile(r"^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$")  # e.g. payments:p2g
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class ApiClientView:
    """A machine client as listed (never the secret)."""

    prefix: str
    name: str
    department: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class IssuedKey:
    """A newly created key: ``key`` is shown once and cannot be recovered later."""

    key: str
    client: ApiClientView


def _view(row: ApiClientRow) -> ApiClientView:
    return ApiClientView(
        prefix=row.prefix,
        name=row.name,
        department=row.department,
        scopes=tuple(row.scopes),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def _new_key() -> tuple[str, str, str]:
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(10))
    secret = secrets.token_urlsafe(32)
    # The secret is 256 random bits, not a password: SHA-256 is enough and keeps checks fast.
    return f"cl_{prefix}_{secret}", prefix, sha256_hex(secret)


def _check_input(name: str, scopes: list[str], days: int) -> None:
    errors = []
    if not 1 <= len(name) <= 200:
        errors.append(FieldError("name", "length", "name must be 1 to 200 characters"))
    if not scopes:
        errors.append(FieldError("scopes", "required", "give at least one scope"))
    errors.extend(
        FieldError("scopes", "pattern", f"scope {s!r} is not of the form area:action")
        for s in scopes
        if not SCOPE_PATTERN.match(s)
    )
    if not 1 <= days <= 730:
        errors.append(FieldError("expires_in_days", "range", "expiry must be 1 to 730 days"))
    if errors:
        raise ValidationFailed(errors)


def _audit(row: ApiClientRow, actor: str, action: AuditAction, at: datetime) -> AuditRecord:
    return AuditRecord(
        actor=actor,
        action=action,
        subject_type="api_client",
        subject_id=row.prefix,
        occurred_at=at,
        department=row.department,
        details={"scopes": sorted(row.scopes), "expires_at": row.expires_at.isoformat()},
    )


async def create_api_key(
    uow: UnitOfWork,
    clock: Clock,
    *,
    name: str,
    department: str,
    scopes: list[str],
    expires_in_days: int = 90,
    actor: str = "cli:operator",
    rotated_from: str | None = None,
) -> IssuedKey:
    """Register a machine client of a department with scopes and an expiry; returns the key."""
    _check_input(name, scopes, expires_in_days)
    key, prefix, secret_hash = _new_key()
    now = clock.now()
    async with uow:
        row = ApiClientRow(
            id=new_id(),
            prefix=prefix,
            name=name,
            department=department,
            scopes=sorted(set(scopes)),
            secret_hash=secret_hash,
            created_by=actor,
            created_at=now,
            expires_at=now + timedelta(days=expires_in_days),
            revoked_at=None,
            last_used_at=None,
            rotated_from=rotated_from,
        )
        uow.session.add(row)
        await uow.session.flush()
        await append_audit(uow.session, _audit(row, actor, AuditAction.API_KEY_CREATED, now))
        view = _view(row)
        await uow.commit()
    return IssuedKey(key=key, client=view)


async def list_api_keys(uow: UnitOfWork) -> list[ApiClientView]:
    """Every machine client, newest first."""
    async with uow:
        rows = await uow.session.scalars(
            select(ApiClientRow).order_by(ApiClientRow.created_at.desc())
        )
        return [_view(r) for r in rows]


async def _find(uow: UnitOfWork, prefix: str) -> ApiClientRow:
    row = await uow.session.scalar(select(ApiClientRow).where(ApiClientRow.prefix == prefix))
    if row is None:
        raise NotFound(f"no API key with prefix {prefix!r}")
    return row


async def revoke_api_key(
    uow: UnitOfWork, clock: Clock, prefix: str, *, actor: str = "cli:operator"
) -> ApiClientView:
    """Revoke a key at once (idempotent)."""
    now = clock.now()
    async with uow:
        row = await _find(uow, prefix)
        if row.revoked_at is None:
            row.revoked_at = now
            await append_audit(uow.session, _audit(row, actor, AuditAction.API_KEY_REVOKED, now))
        view = _view(row)
        await uow.commit()
    return view


async def rotate_api_key(
    uow: UnitOfWork,
    clock: Clock,
    prefix: str,
    *,
    grace: timedelta = timedelta(hours=24),
    expires_in_days: int = 90,
    actor: str = "cli:operator",
) -> IssuedKey:
    """Issue a successor key with the same department and scopes; the old one ends after grace."""
    now = clock.now()
    async with uow:
        old = await _find(uow, prefix)
        if old.revoked_at is not None or old.expires_at <= now:
            raise ValidationFailed(
                [FieldError("prefix", "active", "only an active key can be rotated")]
            )
        old.expires_at = min(old.expires_at, now + grace)
        await append_audit(uow.session, _audit(old, actor, AuditAction.API_KEY_ROTATED, now))
        name, department, scopes = old.name, old.department, list(old.scopes)
        await uow.commit()
    return await create_api_key(
        uow,
        clock,
        name=name,
        department=department,
        scopes=scopes,
        expires_in_days=expires_in_days,
        actor=actor,
        rotated_from=prefix,
    )


async def authenticate_api_key(uow: UnitOfWork, clock: Clock, key: str) -> ScopedPrincipal | None:
    """The machine principal of a valid, unexpired, unrevoked key; None otherwise."""
    match = KEY_PATTERN.match(key)
    if match is None:
        return None
    now = clock.now()
    async with uow:
        row = await uow.session.scalar(
            select(ApiClientRow).where(ApiClientRow.prefix == match["prefix"])
        )
        if row is None or not hmac.compare_digest(row.secret_hash, sha256_hex(match["secret"])):
            return None
        if row.revoked_at is not None or row.expires_at <= now:
            return None
        if row.last_used_at is None or now - row.last_used_at >= timedelta(minutes=1):
            row.last_used_at = now
            await uow.commit()
        return ScopedPrincipal(
            subject=f"client:{row.prefix}",
            display_name=row.name,
            roles=frozenset({Role.MACHINE_CLIENT.value}),
            department=row.department,
            authenticated_by="api-key",
            scopes=frozenset(row.scopes),
        )


async def vouched_machine_client(
    uow: UnitOfWork, clock: Clock, prefix: str, *, vouched_by: str
) -> ScopedPrincipal | None:
    """The machine principal of a valid client whose identity a trusted party vouched for
    (an Information Mediator security server, or a conformance alias; ADR 0046); the key itself
    is not presented. None when the client is unknown, revoked or expired."""
    now = clock.now()
    async with uow:
        row = await uow.session.scalar(select(ApiClientRow).where(ApiClientRow.prefix == prefix))
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            return None
        return ScopedPrincipal(
            subject=f"client:{row.prefix}",
            display_name=row.name,
            roles=frozenset({Role.MACHINE_CLIENT.value}),
            department=row.department,
            authenticated_by=vouched_by,
            scopes=frozenset(row.scopes),
        )
