"""Who may call which route: declared policies and the rule that evaluates them.

Every route of the application has exactly one policy: either a guard on the route itself
(``civicloom.web.require_roles(...)``, ``public_route()``, ``authenticated()``) or an entry in
``ROUTE_POLICIES`` below for routes declared before guards existed. The app refuses to start
with a route that has none (``civicloom.web.check_every_route_guarded``, ADR 0035).
See docs/how-to/protect-a-route.md.

Nothing here is used to decide what a test expects: the attack suite (``tests/security/``)
compares every route, as every kind of caller on real objects, with a hand-written table of
literal outcomes (the old matrix test derived its expectations from this module).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from civicloom.identity.domain import APPLICANT_ROLES, Role, has_any_role, scopes_of
from civicloom.kernel import Principal


class Access(StrEnum):
    """The outcome of evaluating a policy for one caller."""

    ALLOW = "allow"
    UNAUTHENTICATED = "unauthenticated"
    DENY = "deny"


@dataclass(frozen=True)
class RoutePolicy:
    """Who may call a route.

    ``public``: no authentication at all. Otherwise the caller must be authenticated and, when
    ``roles`` is non-empty, hold one of them. Machine clients (API keys) are allowed only when
    ``scope`` is set and their key holds it. ``conceal`` answers a denial with 404 instead of
    403, for routes where existence itself must not leak. ``owner_scoped`` says the route further
    restricts each object to the principals entitled to it (a non-entitled caller gets 404).
    ``rate_limit`` names a bucket (``login`` or ``submission``). ``signed`` marks a public route
    whose handler authenticates the request itself by a signature (department callbacks).
    ``machines`` lets every machine client in, whatever its scopes (e.g. "who am I").
    """

    public: bool = False
    signed: bool = False
    machines: bool = False
    roles: frozenset[str] = frozenset()
    scope: str | None = None
    conceal: bool = False
    owner_scoped: bool = False
    rate_limit: str | None = None

    def evaluate(self, principal: Principal | None) -> Access:
        """Allow, or say why not."""
        if self.public:
            return Access.ALLOW
        if principal is None:
            return Access.UNAUTHENTICATED
        if Role.MACHINE_CLIENT.value in principal.roles:
            allowed = self.machines or (
                self.scope is not None and self.scope in scopes_of(principal)
            )
            return Access.ALLOW if allowed else Access.DENY
        if self.roles and not has_any_role(principal, self.roles):
            return Access.DENY
        return Access.ALLOW

    @property
    def denial_status(self) -> int:
        """HTTP status of a denial for an authenticated caller."""
        return 404 if self.conceal else 403


PUBLIC = RoutePolicy(public=True)
SIGNED = RoutePolicy(public=True, signed=True)
ANY_AUTHENTICATED = RoutePolicy()
OFFICERS = frozenset({Role.OFFICER.value, Role.SUPERVISOR.value})
OPERATORS = frozenset({Role.OPERATOR.value})


def _applicant(scope: str) -> RoutePolicy:
    # Someone else's application answers 404 whatever the caller's roles: existence must not leak.
    return RoutePolicy(roles=APPLICANT_ROLES, scope=scope, conceal=True, owner_scoped=True)


def _officer(scope: str, roles: frozenset[str] = OFFICERS) -> RoutePolicy:
    # Tasks of another department answer 404 (the case engine checks the department).
    return RoutePolicy(roles=roles, scope=scope, owner_scoped=True)


# Routes declared by modules written before route guards existed, keyed by (method, path
# template). Prefer a guard on the route itself for new routes.
ROUTE_POLICIES: dict[tuple[str, str], RoutePolicy] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/problems/{slug}"): PUBLIC,
    ("GET", "/assets"): PUBLIC,  # GOV.UK Frontend CSS/JS (static mount)
    ("GET", "/static"): PUBLIC,  # our CSS/JS and htmx (static mount)
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("GET", "/api-docs"): PUBLIC,  # swagger-ui-dist from node_modules (static mount)
    ("GET", "/api/v1/services"): PUBLIC,
    ("POST", "/api/v1/applications"): RoutePolicy(
        roles=APPLICANT_ROLES, scope="applications:write", rate_limit="submission"
    ),
    ("GET", "/api/v1/applications/{application_id}"): _applicant("applications:read"),
    ("GET", "/api/v1/applications/{application_id}/status"): _applicant("applications:read"),
    ("POST", "/api/v1/applications/{application_id}/withdrawal"): _applicant("applications:write"),
    ("POST", "/api/v1/applications/{application_id}/information"): _applicant("applications:write"),
    ("POST", "/api/v1/callbacks/{department}"): SIGNED,
    ("GET", "/api/v1/tasks"): RoutePolicy(roles=OFFICERS, scope="tasks:read"),
    ("GET", "/api/v1/tasks/{task_id}"): _officer("tasks:read"),
    ("POST", "/api/v1/tasks/{task_id}/claim"): _officer("tasks:write"),
    ("POST", "/api/v1/tasks/{task_id}/release"): _officer("tasks:write"),
    ("POST", "/api/v1/tasks/{task_id}/decision"): _officer("tasks:write"),
    ("POST", "/api/v1/tasks/{task_id}/information-requests"): _officer("tasks:write"),
    ("POST", "/api/v1/tasks/{task_id}/assignment"): _officer(
        "tasks:assign", frozenset({Role.SUPERVISOR.value})
    ),
    ("GET", "/api/v1/operations/dead-letters"): RoutePolicy(roles=OPERATORS),
    ("POST", "/api/v1/operations/dead-letters/{dead_letter_id}/redrive"): RoutePolicy(
        roles=OPERATORS
    ),
    ("POST", "/api/v1/operations/dead-letters/{dead_letter_id}/abandon"): RoutePolicy(
        roles=OPERATORS
    ),
}
