"""Shared web plumbing: dependencies, guards, sessions, CSRF, problem+json errors, middleware."""

from civicloom.web.auth_routes import auth_router
from civicloom.web.csrf import CsrfCookieMiddleware, csrf_input, csrf_token, verify_csrf
from civicloom.web.deps import (
    ContainerDep,
    CurrentPrincipal,
    OptionalPrincipal,
    authenticated,
    enforce_route_policy,
    get_container,
    policy_for_route,
    public_route,
    require_department,
    require_roles,
)
from civicloom.web.errors import (
    Problem,
    install_error_handlers,
    problem_response,
    problem_responses,
)
from civicloom.web.middleware import install_middleware
from civicloom.web.templating import (
    LOCALES,
    Templates,
    install_web_ui,
    localise,
    negotiate_locale,
    page_roles,
    safe_local_path,
    translations_for,
)

__all__ = [
    "LOCALES",
    "ContainerDep",
    "CsrfCookieMiddleware",
    "CurrentPrincipal",
    "OptionalPrincipal",
    "Problem",
    "Templates",
    "auth_router",
    "authenticated",
    "csrf_input",
    "csrf_token",
    "enforce_route_policy",
    "get_container",
    "install_error_handlers",
    "install_middleware",
    "install_web_ui",
    "localise",
    "negotiate_locale",
    "page_roles",
    "policy_for_route",
    "problem_response",
    "problem_responses",
    "public_route",
    "require_department",
    "require_roles",
    "safe_local_path",
    "translations_for",
    "verify_csrf",
]
