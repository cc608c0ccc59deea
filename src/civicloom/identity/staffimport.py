"""People in the staff directory before their first sign-in (ADR 0042, amended for issue 17).

The staff identity provider's user listing, exported as SCIM 2.0 users (RFC 7643: ``id`` /
``externalId``, ``displayName``, ``emails``, ``preferredLanguage``, ``active``, ``groups``,
``roles`` and the enterprise extension's ``department``), is read through **the same mapping**
as a sign-in (``staff_claims`` then ``claims_refusal``), so a person imported today holds what
their first sign-in would give them, and a sign-in later keeps the entry up to date as before.
Every change is one ``staff.updated`` audit entry (actor ``cli:staff-import``), in one
transaction for the whole file; a person whose groups the platform cannot accept is reported
and skipped, never half-written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from civicloom.db import UnitOfWork
from civicloom.identity.directory import (
    claims_refusal,
    known_roles,
    refresh_sessions,
    upsert_staff_entry,
)
from civicloom.identity.oidc import OidcClientConfig, OidcLogin, staff_claims
from civicloom.identity.tables import StaffRow
from civicloom.kernel import Clock

IMPORT_SOURCE = "staff-import"
IMPORT_ACTOR = "cli:staff-import"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@dataclass(frozen=True)
class ImportedPerson:
    """What the import did with one user of the listing."""

    subject: str
    name: str
    department: str | None
    roles: tuple[str, ...]
    outcome: str  # "added", "updated", "unchanged", "deactivated", "skipped"
    problem: str | None = None


def _values(items: Any, *keys: str) -> list[str]:
    """The values of a SCIM multi-valued attribute (``[{"value": …, "display": …}]``)."""
    out: list[str] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            found = next((item[k] for k in keys if isinstance(item.get(k), str)), None)
            if found:
                out.append(found)
    return out


def scim_users(document: Any) -> list[dict[str, Any]]:
    """The users of a SCIM ``ListResponse`` (``Resources``) or of a plain list."""
    if isinstance(document, dict):
        document = document.get("Resources", [])
    if not isinstance(document, list):
        raise ValueError("expected a SCIM ListResponse or a list of users")
    return [u for u in document if isinstance(u, dict)]


def user_as_login(user: Mapping[str, Any], config: OidcClientConfig) -> OidcLogin:
    """One SCIM user as the claims its sign-in would carry (``sub`` = ``externalId``, the
    provider's subject, else ``id``)."""
    subject = user.get("externalId") or user.get("id")
    if not isinstance(subject, str) or not subject.strip():
        raise ValueError("a user without externalId or id")
    name = user.get("displayName") or (user.get("name") or {}).get("formatted")
    emails = user.get("emails") or []
    primary = [e for e in emails if isinstance(e, dict) and e.get("primary")] or emails
    email = _values(primary, "value")
    department = (user.get(ENTERPRISE) or {}).get("department")
    claims: dict[str, Any] = {
        "sub": subject.strip(),
        "name": name or user.get("userName") or subject,
        "email": email[0] if email else None,
        "locale": user.get("preferredLanguage") or user.get("locale"),
        config.groups_claim: _values(user.get("groups"), "display", "value"),
        config.role_claim: _values(user.get("roles"), "value", "display"),
    }
    if isinstance(department, str) and department:
        claims[config.department_claim] = department
    return OidcLogin(id_token="", claims=claims, userinfo={})


async def import_staff(
    uow: UnitOfWork,
    clock: Clock,
    config: OidcClientConfig,
    users: Sequence[Mapping[str, Any]],
    *,
    apply: bool = True,
) -> list[ImportedPerson]:
    """Put the listing's people in the directory (``apply=False``: only say what would be done).

    A new person is added without a sign-in; a known one is updated to what the provider says;
    an inactive one (``active: false``) keeps their entry with no role, and their live sessions
    lose their roles. Groups or roles the platform does not know skip that person, reported."""
    now = clock.now()
    done: list[ImportedPerson] = []
    async with uow:
        session = uow.session
        departments = await known_roles(session)
        for user in users:
            try:
                login = user_as_login(user, config)
            except ValueError as exc:
                done.append(ImportedPerson("?", "?", None, (), "skipped", str(exc)))
                continue
            claims = staff_claims(config, login)
            known = await session.get(StaffRow, claims.subject)
            active = user.get("active", True) is not False
            refusal = claims_refusal(claims, departments) if active else None
            if refusal is not None:
                done.append(
                    ImportedPerson(
                        claims.subject,
                        claims.name,
                        claims.department,
                        tuple(sorted(claims.roles)),
                        "skipped",
                        str(refusal),
                    )
                )
                continue
            if not active and known is None:
                done.append(ImportedPerson(claims.subject, claims.name, None, (), "unchanged"))
                continue
            department = claims.department if active else (known.department if known else None)
            roles = sorted(claims.roles) if active else []
            before = (
                (known.department, sorted(known.roles), known.display_name, known.email)
                if known
                else None
            )
            after = (department, roles, claims.name, claims.email)
            outcome = (
                "added"
                if known is None
                else "unchanged"
                if before == after
                else "updated"
                if active
                else "deactivated"
            )
            done.append(
                ImportedPerson(claims.subject, claims.name, department, tuple(roles), outcome)
            )
            if not apply or outcome == "unchanged":
                continue
            await upsert_staff_entry(
                session,
                subject=claims.subject,
                name=claims.name,
                email=claims.email,
                locale=claims.locale,
                department=department,
                roles=roles,
                source=IMPORT_SOURCE,
                actor=IMPORT_ACTOR,
                now=now,
                signed_in=False,
            )
            if known is not None:
                await session.flush()
                await refresh_sessions(session, claims.subject, now)
        if apply:
            await uow.commit()
    return done
