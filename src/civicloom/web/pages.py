"""The platform's own pages and what every module's pages share.

Routes: sign-in and sign-out (OpenID Connect login and callback, the dev login, logout) and
the language switcher. Helpers for the pages of every module (docs/how-to/build-a-page.md):
``render_page`` (the layout's context filled in), ``page_gettext``, ``see_other`` and
``error_list``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import DictLoader, Environment, select_autoescape

from civicloom.departments import CapabilityGateway
from civicloom.identity import (
    OidcClientConfig,
    OidcError,
    OidcLogin,
    Role,
    ScopedPrincipal,
    TooManyRequests,
    claimed_mandates,
    end_session,
    load_personas,
    principal_for_persona,
    principal_from_login,
    record_failed_login,
    sign_in_staff,
    staff_claims,
    start_session,
    with_directory_roles,
)
from civicloom.kernel import FieldError, NotFound, PathId, Principal, ValidationFailed
from civicloom.registries import verified_mandates
from civicloom.runtime import Container
from civicloom.web.csrf import csrf_input, verify_csrf
from civicloom.web.deps import (
    ContainerDep,
    CurrentPrincipal,
    GatewayDep,
    IdentityDep,
    Unauthenticated,
    client_address,
    loopback_only,
    public_route,
)
from civicloom.web.session import (
    AUDIENCES,
    OIDC_COOKIE,
    SESSION_COOKIE,
    clear_session_cookie,
    session_policy,
    set_session_cookie,
)
from civicloom.web.templating import (
    DEFAULT_LOCALE,
    LOCALE_COOKIE,
    Templates,
    negotiate_locale,
    normalise_locale,
    page_authenticated,
    safe_local_path,
    translations_for,
)

_TEMPLATES = {
    "base.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }} – civicloom</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/civicloom.css"></head>
<body><main id="main">{% block main %}{% endblock %}</main></body></html>""",
    "dev_login.html": """{% extends "base.html" %}{% block main %}
<div role="alert" class="dev-login-banner civicloom-dev-banner">
DEVELOPMENT LOGIN — demo personas. Never available in production.</div>
<h1>Sign in as a demo persona</h1>
<ul>{% for p in personas %}<li>
<form method="post" action="/auth/dev-login">{{ csrf_input(request) }}
<input type="hidden" name="persona" value="{{ p.id }}">
<input type="hidden" name="next" value="{{ next }}">
<button type="submit" data-persona="{{ p.id }}">Sign in as {{ p.name }}</button>
<span>{{ p.description }}</span></form></li>{% endfor %}</ul>
{% endblock %}""",
    "signed_in.html": """{% extends "base.html" %}{% block main %}
<h1>Signed in</h1><p>You are signed in as <strong id="who">{{ name }}</strong>.</p>
<form method="post" action="/auth/logout">{{ csrf_input(request) }}
<button type="submit">Sign out</button></form>{% endblock %}""",
}
_jinja = Environment(loader=DictLoader(_TEMPLATES), autoescape=select_autoescape(default=True))
_jinja.globals["csrf_input"] = csrf_input

auth_router = APIRouter(prefix="/auth", include_in_schema=False)
dev_login_router = APIRouter(prefix="/auth", include_in_schema=False)
"""The demo-persona login: included only where ``dev_login`` is on (never in production) and
answering only clients on this machine."""


def safe_next(value: str | None) -> str:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/auth/signed-in"


def _render(request: Request, template: str, **context: Any) -> HTMLResponse:
    html = _jinja.get_template(template).render(request=request, **context)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@auth_router.get("/login", dependencies=[public_route(rate_limit="login")])
async def login(
    request: Request,
    container: ContainerDep,
    runtime: IdentityDep,
    audience: Annotated[str, Query(pattern="^(citizen|staff)$")] = "citizen",
    next: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """Send the browser to the audience's identity provider (or to the dev login)."""
    party = runtime.relying_parties.get(audience)
    if party is None:
        if container.settings.dev_login_enabled:
            return RedirectResponse(f"/auth/dev-login?next={safe_next(next)}", status_code=303)
        raise NotFound(f"no identity provider is configured for {audience}")
    begun = await party.begin()
    transaction = runtime.dump_transaction(
        {
            "audience": audience,
            "state": begun.state,
            "nonce": begun.nonce,
            "verifier": begun.code_verifier,
            "next": safe_next(next),
        }
    )
    response = RedirectResponse(begun.url, status_code=303)
    response.set_cookie(
        OIDC_COOKIE,
        transaction,
        max_age=600,
        path="/auth/callback",
        httponly=True,
        samesite="lax",
        secure=container.settings.session_cookie_secure,
    )
    return response


async def _citizen_with_mandates(
    container: Container,
    gateway: CapabilityGateway | None,
    config: OidcClientConfig,
    citizen: ScopedPrincipal,
    login: OidcLogin,
) -> ScopedPrincipal:
    """The citizen with the businesses the register confirms they represent (ADR 0041): as the
    dev login's personas carry them, so the business path works alike for both logins."""
    claimed = claimed_mandates(config, login)
    if not claimed:
        return citizen
    mandates = await verified_mandates(container.uow, gateway, container.clock, citizen, claimed)
    if not mandates:
        return citizen
    return ScopedPrincipal(
        subject=citizen.subject,
        display_name=citizen.display_name,
        roles=citizen.roles | {Role.BUSINESS_REPRESENTATIVE.value},
        authenticated_by=citizen.authenticated_by,
        mandates=mandates,
    )


@auth_router.get("/callback/{audience}", dependencies=[public_route(rate_limit="login")])
async def callback(
    audience: PathId,
    request: Request,
    container: ContainerDep,
    runtime: IdentityDep,
    gateway: GatewayDep,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    state: Annotated[str | None, Query(max_length=500)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Complete an OpenID Connect login: check state, redeem code, validate the ID token."""
    party = runtime.relying_parties.get(audience) if audience in AUDIENCES else None
    if party is None:
        raise NotFound(f"no identity provider is configured for {audience!r}")
    transaction = runtime.load_transaction(request.cookies.get(OIDC_COOKIE, ""))
    try:
        if error:
            raise OidcError("provider-error", error[:50])
        if transaction is None or transaction.get("audience") != audience:
            raise OidcError("no-login-in-progress")
        if not code or not state:
            raise OidcError("missing-code-or-state")
        result = await party.complete(
            code=code,
            returned_state=state,
            expected_state=str(transaction["state"]),
            nonce=str(transaction["nonce"]),
            code_verifier=str(transaction["verifier"]),
        )
        ends_by = None
        if audience == "staff":
            signed_in = await sign_in_staff(
                container.uow(), container.clock, staff_claims(party.config, result)
            )
            principal, ends_by = signed_in.principal, signed_in.roles_until
        else:
            principal = await _citizen_with_mandates(
                container, gateway, party.config, principal_from_login(party.config, result), result
            )
    except OidcError as exc:
        await record_failed_login(
            container.uow(), container.clock, method=f"oidc-{audience}", reason=exc.reason
        )
        raise Unauthenticated(f"the login was refused ({exc})") from exc
    token = await start_session(
        container.uow(),
        container.clock,
        principal,
        session_policy(container.settings),
        id_token=result.id_token,
        replaces=request.cookies.get(SESSION_COOKIE),
        ends_by=ends_by,
    )
    response = RedirectResponse(safe_next(str(transaction.get("next"))), status_code=303)
    set_session_cookie(response, token, container.settings)
    response.delete_cookie(OIDC_COOKIE, path="/auth/callback")
    return response


@dev_login_router.get("/dev-login", dependencies=[public_route(), loopback_only()])
async def dev_login_page(
    request: Request,
    container: ContainerDep,
    next: Annotated[str | None, Query(max_length=500)] = None,
) -> HTMLResponse:
    """The clearly marked persona picker (embedded and test profiles only)."""
    if not container.settings.dev_login_enabled:
        raise NotFound("the development login is off")
    personas = load_personas(container.settings.blueprints_dir).values()
    return _render(
        request,
        "dev_login.html",
        title="Development login",
        personas=personas,
        next=safe_next(next),
    )


@dev_login_router.post("/dev-login", dependencies=[public_route(), loopback_only()])
async def dev_login(
    request: Request,
    container: ContainerDep,
    runtime: IdentityDep,
    persona: Annotated[str, Form(max_length=50)],
    next: Annotated[str | None, Form(max_length=500)] = None,
) -> RedirectResponse:
    """Sign in as a demo persona: a new session (any earlier one of this browser ends)."""
    if not container.settings.dev_login_enabled:
        raise NotFound("the development login is off")
    await verify_csrf(request)
    wait = await runtime.rate_limiter.take("login", f"{client_address(request)}|{persona}")
    if wait:
        raise TooManyRequests(f"too many sign-in attempts; retry in {wait} s", wait)
    found = load_personas(container.settings.blueprints_dir).get(persona)
    if found is None:
        await record_failed_login(
            container.uow(), container.clock, method="dev-login", reason="unknown-persona"
        )
        raise ValidationFailed([FieldError("persona", "known-persona", "no such demo persona")])
    # the persona with the directory's grants (acting-up, delegated roles), as a staff sign-in
    signed_in = await with_directory_roles(
        container.uow(), container.clock, principal_for_persona(found)
    )
    token = await start_session(
        container.uow(),
        container.clock,
        signed_in.principal,
        session_policy(container.settings),
        replaces=request.cookies.get(SESSION_COOKIE),
        ends_by=signed_in.roles_until,
    )
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, token, container.settings)
    return response


@auth_router.get("/signed-in", dependencies=[page_authenticated()])
async def signed_in(request: Request, principal: CurrentPrincipal) -> HTMLResponse:
    """A plain landing page after sign-in, until the portal provides one."""
    return _render(request, "signed_in.html", title="Signed in", name=principal.display_name)


@auth_router.post("/logout", dependencies=[public_route()])
async def logout(
    request: Request, container: ContainerDep, runtime: IdentityDep
) -> RedirectResponse:
    """End the session here and, for OIDC sessions, at the identity provider too."""
    await verify_csrf(request)
    token = request.cookies.get(SESSION_COOKIE)
    ended = await end_session(container.uow(), container.clock, token) if token else None
    target = "/"
    if ended is not None and ended.id_token:
        audience = ended.authenticated_by.removeprefix("oidc-")
        party = runtime.relying_parties.get(audience)
        if party is not None:
            back = container.settings.effective_public_url.rstrip("/") + "/"
            target = await party.logout_url(ended.id_token, back) or "/"
    response = RedirectResponse(target, status_code=303)
    clear_session_cookie(response, container.settings)
    return response


language_router = APIRouter(include_in_schema=False)
api_docs_router = APIRouter(include_in_schema=False)
"""The public API's documentation page: Swagger UI from the installed npm package
``swagger-ui-dist`` (served at ``/api-docs`` by ``install_web_ui``), never from a CDN, so it
works in a closed network and under the Content-Security-Policy (ADR 0035)."""

_API_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>civicloom – public API</title>
<link rel="stylesheet" href="/api-docs/swagger-ui.css">
<link rel="icon" href="/static/civicloom.svg" type="image/svg+xml">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/api/v1/openapi.json"></div>
<script src="/api-docs/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


@api_docs_router.get("/api/v1/docs", response_class=HTMLResponse, dependencies=[public_route()])
async def api_docs() -> HTMLResponse:
    """Swagger UI for the public API, every asset served by this deployment."""
    return HTMLResponse(_API_DOCS_PAGE)


@language_router.get("/language/{locale}", dependencies=[public_route()])
async def choose_language(
    container: ContainerDep,
    locale: PathId,
    next: Annotated[str | None, Query(max_length=500)] = None,
) -> RedirectResponse:
    """The language switcher (a plain link, so it works without JavaScript): remember and return."""
    chosen = normalise_locale(locale) or DEFAULT_LOCALE
    response = RedirectResponse(safe_local_path(next), status_code=303)
    response.set_cookie(
        LOCALE_COOKIE,
        chosen,
        max_age=365 * 86400,
        path="/",
        samesite="lax",
        httponly=True,
        secure=container.settings.session_cookie_secure,
    )
    return response


def page_gettext(request: Request) -> Any:
    """The request locale's ``gettext`` (for messages built in Python); like the templates'
    ``_``, it fills ``%(name)s`` placeholders from keyword arguments after translating."""
    gettext = translations_for(negotiate_locale(request)).gettext

    def translate(message: str, **variables: Any) -> str:
        text: str = gettext(message)
        return text % variables if variables else text

    return translate


def render_page(
    templates: Templates,
    request: Request,
    name: str,
    principal: Principal | None,
    nav_items: list[dict[str, Any]],
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a module's page with the layout's context filled in (navigation, who is signed
    in)."""
    return templates.render(
        request,
        name,
        status_code=status_code,
        nav_items=nav_items,
        signed_in_as=principal.display_name if principal else None,
        principal=principal,
        **context,
    )


def see_other(url: str) -> RedirectResponse:
    """Post/redirect/get."""
    return RedirectResponse(url, status_code=303)


def error_list(
    errors: dict[str, str], anchors: dict[str, str] | None = None
) -> list[dict[str, str]]:
    """A GOV.UK error summary: each message linking to its field's input."""
    anchors = anchors or {}
    return [{"text": msg, "href": f"#{anchors.get(name, name)}"} for name, msg in errors.items()]
