"""Identity and access: OIDC relying party, sessions, roles, scoping, API keys, route policies."""

from civicloom.identity.apikeys import (
    ApiClientView,
    IssuedKey,
    authenticate_api_key,
    create_api_key,
    list_api_keys,
    revoke_api_key,
    rotate_api_key,
)
from civicloom.identity.domain import (
    APPLICANT_ROLES,
    STAFF_ROLES,
    Forbidden,
    Role,
    ScopedPrincipal,
    TooManyRequests,
    has_any_role,
    mandates_of,
    may_act_for,
    may_view_application,
    scopes_of,
)
from civicloom.identity.oidc import (
    LoginRequest,
    OidcClientConfig,
    OidcError,
    OidcLogin,
    OidcRelyingParty,
    principal_from_login,
)
from civicloom.identity.personas import Persona, load_personas, principal_for_persona
from civicloom.identity.policy import (
    ANY_AUTHENTICATED,
    PUBLIC,
    ROUTE_POLICIES,
    Access,
    RoutePolicy,
)
from civicloom.identity.ratelimit import RateLimiter
from civicloom.identity.scoping import visible_fields
from civicloom.identity.sessions import (
    EndedSession,
    SessionPolicy,
    end_session,
    record_denial,
    record_failed_login,
    resolve_session,
    start_session,
)
from civicloom.identity.tables import ApiClientRow, SessionRow

__all__ = [
    "ANY_AUTHENTICATED",
    "APPLICANT_ROLES",
    "PUBLIC",
    "ROUTE_POLICIES",
    "STAFF_ROLES",
    "Access",
    "ApiClientRow",
    "ApiClientView",
    "EndedSession",
    "Forbidden",
    "IssuedKey",
    "LoginRequest",
    "OidcClientConfig",
    "OidcError",
    "OidcLogin",
    "OidcRelyingParty",
    "Persona",
    "RateLimiter",
    "Role",
    "RoutePolicy",
    "ScopedPrincipal",
    "SessionPolicy",
    "SessionRow",
    "TooManyRequests",
    "authenticate_api_key",
    "create_api_key",
    "end_session",
    "has_any_role",
    "list_api_keys",
    "load_personas",
    "mandates_of",
    "may_act_for",
    "may_view_application",
    "principal_for_persona",
    "principal_from_login",
    "record_denial",
    "record_failed_login",
    "resolve_session",
    "revoke_api_key",
    "rotate_api_key",
    "scopes_of",
    "start_session",
    "visible_fields",
]
