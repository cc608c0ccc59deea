"""FastAPI dependency aliases (the only place they are defined), authentication and guards.

Callers authenticate with a session cookie (browsers), ``Authorization: Bearer cl_…`` (API
keys of machine clients) or, in the embedded/test profiles only, ``Bearer dev:<persona>``.
Every route has one access policy: a guard on the route (``require_roles``,
``authenticated``, ``public_route``) or an entry in ``civicloom.identity.ROUTE_POLICIES``,
which ``enforce_route_policy`` (an app-wide dependency) applies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, Mount

from civicloom.applications import find_application
from civicloom.connectors import CALLBACK_VERIFIERS, COMPLETION_HANDLER, CallbackVerifier
from civicloom.connectors.services import CompletionHandler
from civicloom.departments import CAPABILITY_GATEWAY, CapabilityGateway
from civicloom.identity import (
    ANY_AUTHENTICATED,
    PUBLIC,
    ROUTE_POLICIES,
    Access,
    Forbidden,
    Role,
    RoutePolicy,
    TooManyRequests,
    authenticate_api_key,
    load_personas,
    principal_for_persona,
    record_denial,
    resolve_session,
)
from civicloom.kernel import DomainError, NotFound, Principal
from civicloom.observability import get_logger
from civicloom.registries import still_acting_for
from civicloom.rules import RULE_BOOK, RuleBook
from civicloom.runtime import Container, Key
from civicloom.web.csrf import SAFE_METHODS, verify_csrf
from civicloom.web.session import IDENTITY_RUNTIME, SESSION_COOKIE, IdentityRuntime, session_policy

log = get_logger(__name__)
_UNRESOLVED = object()
T = TypeVar("T")


class Unauthenticated(DomainError):
    """No valid credentials were presented."""

    slug = "unauthenticated"
    title = "Authentication required"
    status = 401


def get_container(request: Request) -> Container:
    """The process container stored on the app."""
    container = request.app.state.container
    assert isinstance(container, Container)
    return container


async def _container(request: Request) -> Container:
    # A coroutine on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, a
    # thread hand-off on every request for an attribute read (ADR 0077).
    return get_container(request)


ContainerDep = Annotated[Container, Depends(_container)]

_DEPENDENCIES: dict[tuple[Key[Any], bool], Callable[[Request], Awaitable[Any]]] = {}


def _dependency(key: Key[Any], optional: bool) -> Callable[[Request], Awaitable[Any]]:
    """One callable per key and kind, so ``dependency_overrides`` can find it again."""
    dependency = _DEPENDENCIES.get((key, optional))
    if dependency is None:

        async def dependency(request: Request) -> Any:  # async: no thread hop (ADR 0077)
            container = get_container(request)
            return container.find(key) if optional else container.get(key)

        kind = "optional" if optional else "component"
        dependency.__name__ = f"{kind}_{key.name.replace(' ', '_')}"
        _DEPENDENCIES[(key, optional)] = dependency
    return dependency


def component(key: Key[T]) -> Callable[[Request], Awaitable[T]]:
    """The dependency that yields the container's component under ``key``.

    One callable per key, so tests swap a component with
    ``app.dependency_overrides[component(KEY)] = lambda: fake``.
    """
    return _dependency(key, optional=False)


def optional_component(key: Key[T]) -> Callable[[Request], Awaitable[T | None]]:
    """Like ``component`` for a collaborator a process may lack: yields None then."""
    return _dependency(key, optional=True)


GatewayDep = Annotated[CapabilityGateway | None, Depends(optional_component(CAPABILITY_GATEWAY))]
"""The capability gateway to the departments' systems (None where no connector is wired)."""
CallbackVerifiersDep = Annotated[
    Mapping[str, CallbackVerifier] | None, Depends(optional_component(CALLBACK_VERIFIERS))
]
CompletionHandlerDep = Annotated[
    CompletionHandler | None, Depends(optional_component(COMPLETION_HANDLER))
]
IdentityDep = Annotated[IdentityRuntime, Depends(component(IDENTITY_RUNTIME))]
RuleBookDep = Annotated[RuleBook, Depends(component(RULE_BOOK))]
"""The departments' decision models, loaded once by the composition root."""


def client_address(request: Request) -> str:
    """The caller's address, for rate limits only (never logged or audited): the socket peer,
    or the client a trusted proxy forwarded for (the platform middleware resolved it)."""
    return request.client.host if request.client else "unknown"


async def _authenticate(request: Request, container: Container) -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        principal = await resolve_session(
            container.uow(), container.clock, token, session_policy(container.settings)
        )
        if principal is not None:
            # Cookies ride along on cross-site requests: unsafe methods need the CSRF token.
            if request.method not in SAFE_METHODS:
                await verify_csrf(request)
            return principal
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if not credential:
        return None
    if scheme.lower() != "bearer":
        raise Unauthenticated("send an Authorization: Bearer token")
    if (
        credential.startswith("dev:")
        and container.settings.dev_login_enabled
        and is_loopback(request)
    ):
        persona = load_personas(container.settings.blueprints_dir).get(credential[4:])
        if persona is not None:
            return principal_for_persona(persona)
    if credential.startswith("cl_"):
        client = await authenticate_api_key(container.uow(), container.clock, credential)
        if client is not None:
            return client
    raise Unauthenticated("the token is not valid")


async def current_principal_or_none(request: Request) -> Principal | None:
    """The caller if authenticated (resolved once per request), else None."""
    cached = getattr(request.state, "principal", _UNRESOLVED)
    if cached is _UNRESOLVED:
        cached = await _authenticate(request, get_container(request))
        request.state.principal = cached
    assert cached is None or isinstance(cached, Principal)
    return cached


async def get_principal(request: Request) -> Principal:
    """The authenticated caller; 401 without valid credentials."""
    principal = await current_principal_or_none(request)
    if principal is None:
        raise Unauthenticated("sign in, or send an Authorization: Bearer token")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(current_principal_or_none)]


def _route_label(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", request.url.path))


async def enforce(policy: RoutePolicy, request: Request) -> Principal | None:
    """Apply a policy: rate limit, authentication, roles/scopes; audit and refuse denials."""
    container = get_container(request)
    principal = None if policy.public else await current_principal_or_none(request)
    access = policy.evaluate(principal)
    if policy.rate_limit:
        # Every attempt counts, refused ones too: a denial writes an audit entry, so a caller
        # refused again and again must meet the limit as well (attack review). The window row
        # is an abuse counter keyed on a digest, not anyone's data (ADR 0062).
        key = principal.subject if principal is not None else client_address(request)
        wait = await container.get(IDENTITY_RUNTIME).rate_limiter.take(policy.rate_limit, key)
        if wait:
            log.warning("rate_limited", bucket=policy.rate_limit, route=_route_label(request))
            raise TooManyRequests(f"too many requests; retry in {wait} s", wait)
    if access is Access.UNAUTHENTICATED:
        raise Unauthenticated("sign in, or send an Authorization: Bearer token")
    if access is Access.DENY:
        assert principal is not None
        await record_denial(
            container.uow(),
            container.clock,
            principal,
            method=request.method,
            route=_route_label(request),
        )
        if policy.conceal:
            raise NotFound("no such resource for this caller")
        raise Forbidden("your roles do not allow this")
    return principal


class Guard:
    """A route dependency that declares and enforces the route's access policy."""

    def __init__(self, policy: RoutePolicy) -> None:
        self.policy = policy

    async def __call__(self, request: Request) -> None:
        """Enforce the policy for this request."""
        await enforce(self.policy, request)

    def __repr__(self) -> str:
        return f"Guard({self.policy!r})"


def require_roles(
    *roles: str | Role,
    scope: str | None = None,
    conceal: bool = False,
    owner_scoped: bool = False,
    rate_limit: str | None = None,
) -> Any:
    """``dependencies=[require_roles("officer", scope="tasks:read")]``: only these roles."""
    names = frozenset(r.value if isinstance(r, Role) else r for r in roles)
    policy = RoutePolicy(
        roles=names, scope=scope, conceal=conceal, owner_scoped=owner_scoped, rate_limit=rate_limit
    )
    return Depends(Guard(policy))


def authenticated(scope: str | None = None, machines: bool = False) -> Any:
    """``dependencies=[authenticated()]``: anyone signed in (machine clients need ``scope``)."""
    if scope is None and not machines:
        return Depends(Guard(ANY_AUTHENTICATED))
    return Depends(Guard(RoutePolicy(scope=scope, machines=machines)))


def public_route(rate_limit: str | None = None) -> Any:
    """``dependencies=[public_route()]``: no authentication (say so explicitly)."""
    return Depends(Guard(RoutePolicy(public=True, rate_limit=rate_limit) if rate_limit else PUBLIC))


def require_department(param: str = "department") -> Any:
    """Staff may act only in their own department (the path parameter ``param``); else 403."""

    async def check(request: Request, principal: CurrentPrincipal) -> None:
        wanted = request.path_params.get(param)
        if principal.department is None or principal.department != wanted:
            container = get_container(request)
            await record_denial(
                container.uow(),
                container.clock,
                principal,
                method=request.method,
                route=_route_label(request),
            )
            raise Forbidden(f"you act for department {principal.department!r}, not {wanted!r}")

    return Depends(check)


def policy_for_route(route: BaseRoute, method: str) -> RoutePolicy | None:
    """The declared policy of a route: its guard, else its ``ROUTE_POLICIES`` entry."""
    for dependency in getattr(route, "dependencies", []):
        if isinstance(dependency.dependency, Guard):
            return dependency.dependency.policy
    return ROUTE_POLICIES.get((method, str(getattr(route, "path", ""))))


async def enforce_route_policy(request: Request) -> None:
    """App-wide dependency: applies the ``ROUTE_POLICIES`` entry of routes without a guard.

    A route with no policy at all cannot exist (``check_every_route_guarded`` refuses to start
    the app); should one slip through, it is refused here rather than served.
    """
    route = request.scope.get("route")
    if route is None or any(
        isinstance(d.dependency, Guard) for d in getattr(route, "dependencies", [])
    ):
        return
    policy = ROUTE_POLICIES.get((request.method, str(getattr(route, "path", ""))))
    if policy is None:
        log.error("route_without_policy", route=_route_label(request), method=request.method)
        raise NotFound("no such resource")
    await enforce(policy, request)


class UnguardedRoutes(RuntimeError):
    """The app has routes that declare no access policy: it refuses to start."""


def _route_methods(route: BaseRoute) -> list[str]:
    if isinstance(route, Mount):
        return ["GET"]
    return sorted(set(getattr(route, "methods", None) or {"GET"}) - {"HEAD"})


def unguarded_routes(routes: Sequence[BaseRoute]) -> list[str]:
    """``METHOD path`` of every route (included routers too) that has no access policy."""
    return [
        f"{method} {context.path}"
        for context in iter_route_contexts(list(routes))
        for method in _route_methods(context.original_route)
        if policy_for_route(context.original_route, method) is None
    ]


def check_every_route_guarded(routes: Sequence[BaseRoute]) -> None:
    """Refuse to start with a route that has no policy (docs/how-to/protect-a-route.md)."""
    missing = unguarded_routes(routes)
    if missing:
        raise UnguardedRoutes(
            "refusing to start: these routes declare no access policy: " + ", ".join(missing)
        )


LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def is_loopback(request: Request) -> bool:
    """Whether the caller connects from this machine (development surfaces only)."""
    host = request.client.host if request.client else ""
    return host in LOOPBACK or host.startswith("127.")


async def _loopback_only(request: Request) -> None:
    if not is_loopback(request):
        log.warning("dev_surface_refused", route=_route_label(request))
        raise NotFound("development surfaces answer only on this machine")


def loopback_only() -> Any:
    """``dependencies=[loopback_only()]``: a development surface; other clients get 404."""
    return Depends(_loopback_only)


async def _still_acting_for(
    request: Request, container: ContainerDep, principal: CurrentPrincipal, gateway: GatewayDep
) -> None:
    """A later applicant action on an application for a business: the applicant must still be
    able to act for it (ADR 0041). The application is read and the read closed before the
    business register is asked; another person's application is left to the ownership check."""
    application_id = str(request.path_params.get("application_id", ""))
    async with container.uow() as uow:
        found = await find_application(uow.session, application_id)
    if found is not None:
        await still_acting_for(container.uow, gateway, container.clock, principal, found)


STILL_ACTING_FOR = Depends(_still_acting_for)
"""``dependencies=[..., STILL_ACTING_FOR]`` on a route where an applicant acts on their
application (answer, withdraw, upload, pay): refused (403) once their mandate is gone."""
