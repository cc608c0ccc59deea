"""Mapping the staff provider's claims and today's roles (ADR 0042): pure functions, literals."""

from __future__ import annotations

from datetime import UTC, date, datetime

from civicloom.identity import OidcClientConfig, OidcLogin, staff_claims
from civicloom.identity.directory import (
    GrantKind,
    StaffGrant,
    effective_roles,
    is_away,
    roles_end,
)

MAPPED = OidcClientConfig(
    audience="staff",
    issuer="https://idp.example",
    client_id="c",
    client_secret="s",
    redirect_uri="https://app.example/auth/callback/staff",
    group_mapping={
        "la-licensing": ("local-admin", ("officer", "licensing-officer")),
        "la-supervisors": ("local-admin", ("supervisor",)),
        "tax-officers": ("tax", ("officer",)),
    },
)


def login(**claims: object) -> OidcLogin:
    return OidcLogin(id_token="t", claims={"sub": "kim", "name": "Kim Lee", **claims}, userinfo={})


def test_groups_map_to_one_department_and_unlisted_groups_are_ignored() -> None:
    claims = staff_claims(MAPPED, login(groups=["la-licensing", "la-supervisors", "vpn"]))
    assert (claims.department, sorted(claims.roles), claims.problem) == (
        "local-admin",
        ["licensing-officer", "officer", "supervisor"],
        None,
    )


def test_groups_of_two_departments_or_none_grant_nothing() -> None:
    two = staff_claims(MAPPED, login(groups=["la-licensing", "tax-officers"]))
    assert (two.department, two.roles) == (None, frozenset())
    assert two.problem == (
        "several-departments",
        "the identity provider places you in several departments: local-admin, tax",
    )
    none = staff_claims(MAPPED, login(groups=["vpn"], roles=["supervisor"], department="tax"))
    assert (none.department, none.roles) == (None, frozenset())
    assert none.problem == ("no-staff-role", "the identity provider gives you no staff role")


def grant(kind: GrantKind, subject: str, **extra: str) -> StaffGrant:
    return StaffGrant(
        id=f"{kind}-{subject}",
        department="local-admin",
        subject=subject,
        kind=kind,
        role=extra.get("role"),
        delegate=extra.get("delegate"),
        starts_on=date(2026, 12, 1),
        ends_on=date(2026, 12, 7),
        reason="r",
        granted_by="hana",
        granted_at=datetime(2026, 11, 30, tzinfo=UTC),
        revoked_at=None,
    )


def test_today_roles_count_acting_up_and_delegation_only_within_their_days() -> None:
    provider = {
        "nora": frozenset({"officer"}),
        "grace": frozenset({"officer", "supervisor", "department-admin"}),
    }
    grants = [
        grant(GrantKind.ACTING_UP, "nora", role="licensing-officer"),
        grant(GrantKind.DELEGATION, "grace", delegate="nora"),
    ]
    inside, after = date(2026, 12, 7), date(2026, 12, 8)
    assert effective_roles("nora", provider, grants, inside) == {
        "officer",
        "licensing-officer",
        "supervisor",  # Grace's, delegated; her administration is not
    }
    assert effective_roles("nora", provider, grants, after) == {"officer"}
    assert is_away("grace", grants, inside)
    assert not is_away("grace", grants, after)
    assert not is_away("nora", grants, inside)
    # a session carrying the granted roles ends when the grant does (the day after its last)
    assert roles_end("nora", grants, inside) == datetime(2026, 12, 8, tzinfo=UTC)
    assert roles_end("grace", grants, inside) is None  # granted nothing, only away


def test_a_delegation_hands_over_department_work_but_never_platform_wide_roles() -> None:
    """A tax officer who is also the auditor delegates her work: the colleague gets the tax
    roles, not the audit trail of every department nor the administration."""
    day = date(2026, 12, 7)
    grant = StaffGrant(
        id="g-1",
        department="tax",
        subject="tove",
        kind=GrantKind.DELEGATION,
        role=None,
        delegate="tim",
        starts_on=day,
        ends_on=day,
        reason="Away",
        granted_by="dev-login:tina",
        granted_at=datetime(2026, 12, 6, 9, 0, tzinfo=UTC),
        revoked_at=None,
    )
    provider = {
        "tove": frozenset({"tax-officer", "auditor", "department-admin"}),
        "tim": frozenset({"officer"}),
    }
    assert effective_roles("tim", provider, [grant], day) == frozenset({"officer", "tax-officer"})
