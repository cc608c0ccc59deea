"""Roles, mandates and the pure access rules of the platform. No I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from civicloom.kernel import DomainError, Principal


class Role(StrEnum):
    """The roles the platform knows (ARCHITECTURE.md, issue 6)."""

    CITIZEN = "citizen"
    BUSINESS_REPRESENTATIVE = "business-representative"
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    SERVICE_OWNER = "service-owner"
    OPERATOR = "operator"
    AUDITOR = "auditor"
    MACHINE_CLIENT = "machine-client"
    FINANCE_OFFICER = "finance-officer"  # reads and refunds the fees of its own department
    PLATFORM_OWNER = "platform-owner"  # reads every department's funding statement
    DEPARTMENT_ADMIN = "department-admin"  # grants acting-up, leave, delegation (ADR 0042)
    RULE_OWNER = "rule-owner"  # approves changes to its department's parts (ADR 0049)
    QUALITY_GATE = "quality-gate"  # the central team's reviewer of every change (ADR 0049)


ROLE_LABELS: dict[str, str] = {
    Role.FINANCE_OFFICER.value: "Finance officer",  # translated where shown (messages.po)
    Role.PLATFORM_OWNER.value: "Platform owner",
    Role.DEPARTMENT_ADMIN.value: "Department administrator",
    Role.RULE_OWNER.value: "Rule owner",
    Role.QUALITY_GATE.value: "Quality gate",
}
"""Labels of roles shown to people (gettext message ids)."""


APPLICANT_ROLES = frozenset({Role.CITIZEN.value, Role.BUSINESS_REPRESENTATIVE.value})
STAFF_ROLES = frozenset({Role.OFFICER.value, Role.SUPERVISOR.value, Role.SERVICE_OWNER.value})
DEPARTMENT_ROLES = STAFF_ROLES
# Who works a department's queue (claims, decides, is assigned tasks).
STAFF_ROLES_OF_QUEUE = frozenset({Role.OFFICER.value, Role.SUPERVISOR.value})


@dataclass(frozen=True)
class ScopedPrincipal(Principal):
    """A principal that also carries business mandates (people) or API scopes (machines)."""

    mandates: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)


class Forbidden(DomainError):
    """The caller is authenticated but may not do this."""

    slug = "forbidden"
    title = "Forbidden"
    status = 403


class TooManyRequests(DomainError):
    """The caller exceeded a rate limit; ``retry_after`` seconds until the next token."""

    slug = "too-many-requests"
    title = "Too many requests"
    status = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


def mandates_of(principal: Principal) -> frozenset[str]:
    """Business registration numbers the principal may act for."""
    return principal.mandates if isinstance(principal, ScopedPrincipal) else frozenset()


def scopes_of(principal: Principal) -> frozenset[str]:
    """API scopes a machine client holds (empty for people)."""
    return principal.scopes if isinstance(principal, ScopedPrincipal) else frozenset()


def may_act_for(principal: Principal, registration_number: str) -> bool:
    """Whether the principal represents this business under a mandate (register director)."""
    return (
        Role.BUSINESS_REPRESENTATIVE.value in principal.roles
        and registration_number in mandates_of(principal)
    )


def has_any_role(principal: Principal, roles: Iterable[str]) -> bool:
    """Whether the principal holds at least one of ``roles``."""
    return not principal.roles.isdisjoint(roles)


def may_view_application(
    principal: Principal,
    *,
    applicant_id: str,
    business_registration_number: str | None = None,
    departments: Iterable[str] = (),
) -> bool:
    """Applicants see their own and their businesses' applications; staff their departments'."""
    if principal.subject == applicant_id and has_any_role(principal, APPLICANT_ROLES):
        return True
    if business_registration_number and may_act_for(principal, business_registration_number):
        return True
    if Role.AUDITOR.value in principal.roles:
        return True
    return (
        principal.department is not None
        and has_any_role(principal, STAFF_ROLES)
        and principal.department in set(departments)
    )


def field_departments(spec: Mapping[str, Any], owner: str) -> frozenset[str]:
    """Departments entitled to one form field: its ``x-owner`` plus its ``x-visible-to``."""
    field_owner = spec.get("x-owner", owner)
    visible_to = spec.get("x-visible-to", [])
    if isinstance(visible_to, str):
        visible_to = [visible_to]
    return frozenset({str(field_owner), *(str(d) for d in visible_to)})


def visible_field_names(
    principal: Principal,
    properties: Mapping[str, Mapping[str, Any]],
    owner: str,
    *,
    is_applicant: bool = False,
) -> frozenset[str]:
    """Names of the form fields this principal may read (see ``visible_fields``)."""
    if is_applicant or Role.AUDITOR.value in principal.roles:
        return frozenset(properties)
    if principal.department is None or not has_any_role(principal, STAFF_ROLES):
        return frozenset()
    return frozenset(
        name
        for name, spec in properties.items()
        if principal.department in field_departments(spec, owner)
    )
