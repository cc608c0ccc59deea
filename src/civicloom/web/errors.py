"""RFC 9457 problem+json for every error, each with a stable ``type``."""

from __future__ import annotations

import re
from functools import cache
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from civicloom.kernel import DomainError, PathId, ValidationFailed
from civicloom.observability import get_logger
from civicloom.web.csrf import SAFE_METHODS
from civicloom.web.templating import Templates

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = get_logger(__name__)

# slug -> (title, explanation); served at /problems/<slug> so every `type` resolves.
PROBLEM_TYPES: dict[str, tuple[str, str]] = {
    "validation-error": (
        "Your request has invalid fields",
        "One or more fields broke a rule. `errors` lists each field, the rule and a message.",
    ),
    "malformed-json": ("Malformed JSON", "The body is not valid JSON."),
    "invalid-cursor": (
        "Not a page of this list",
        "The `cursor` was not given out by this list for these filters: it was altered, or it"
        " belongs to another department's queue or other filters (ADR 0065). `errors` names it;"
        " start again from the first page.",
    ),
    "payload-too-large": ("Request body too large", "The body exceeds the size limit."),
    "not-found": ("Not found", "The resource does not exist or is not visible to you."),
    "conflict": ("Conflict", "The request conflicts with the current state."),
    "review-window-closed": (
        "The review window has closed",
        "A review of a refusal can be asked for until 30 days after it (ADR 0059); after that,"
        " the applicant can appeal to the Administrative Court.",
    ),
    "move-refused": (
        "Not moved",
        "An application could not be moved to (or back from) another version of its service;"
        " the detail names the step or answer that stops it (ADR 0058).",
    ),
    "unauthenticated": ("Authentication required", "Send valid credentials."),
    "forbidden": ("Forbidden", "You are authenticated but may not do this."),
    "method-not-allowed": ("Method not allowed", "This resource does not accept that method."),
    "unsupported-media-type": ("Unsupported media type", "Send application/json."),
    "too-many-requests": (
        "Too many requests",
        "You made too many attempts in a short time; wait before trying again.",
    ),
    "webhook-signature": (
        "Webhook signature not valid",
        "The webhook's provider, signature or timestamp could not be verified; nothing changed.",
    ),
    "provider-unavailable": (
        "Payment provider unavailable",
        "The payment provider could not be reached; nothing was charged. Try again later.",
    ),
    "callback-refused": (
        "Callback refused",
        "The callback's signature or timestamp could not be verified; nothing changed.",
    ),
    "callback-replayed": (
        "Callback already received",
        "This signed callback was received before; it is not handed over again.",
    ),
    "callback-invalid": (
        "Callback breaks its contract",
        "The signed callback is not valid JSON or does not match the capability's output "
        "schema; nothing changed.",
    ),
    "completion-refused": (
        "This department may not answer that task",
        "The answer names a task of another department, of a step the department does not "
        "serve, of another capability, or a key no task has. `errors` names the key field.",
    ),
    "completion-not-awaited": (
        "The task is not waiting for an answer",
        "The department's own task was already answered or its application is decided. "
        "`errors` names the key field.",
    ),
    "callbacks-unavailable": (
        "Callbacks cannot be taken now",
        "The platform cannot take department answers at the moment; retry later.",
    ),
    "register-unavailable": (
        "The register could not be read",
        "The department's system holding the register did not answer; nothing was read. "
        "Try again later.",
    ),
    "database-unavailable": (
        "The database is not reachable",
        "The connection to the database was lost (a restart or a failover to its replica);"
        " the request may not have been carried out. Retry after `Retry-After` seconds (ADR"
        " 0078).",
    ),
    "outcome-unknown": (
        "The outcome is not known",
        "The connection to the database was lost while the request was carried out (a restart"
        " or a failover, ADR 0078); it may have been done or not. Read the resource (or the"
        " list it belongs to) before sending the request again; where the route replays an"
        " `Idempotency-Key` (submitting an application, a payment), sending the same key"
        " again is answered from the first outcome.",
    ),
    "kpi-figures-being-prepared": (
        "Figures being prepared",
        "No report of this service and period is stored yet; the request recorded the period"
        " and the worker computes it (ADR 0082). Ask again after `Retry-After` seconds.",
    ),
    "kpi-periods-busy": (
        "Too many periods are being prepared",
        "Too many periods of this service wait to be computed (ADR 0082); this one was not"
        " recorded. Ask again after `Retry-After` seconds.",
    ),
    "internal-error": ("Internal error", "Something failed on our side; it has been logged."),
    "http-error": ("HTTP error", "The request could not be served."),
}
_STATUS_SLUGS = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    429: "too-many-requests",
}


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str | None = None
    errors: list[dict[str, str]] | None = None


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting problem+json for the given status codes."""
    return {code: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}} for code in codes}


def problem_response(
    request: Request,
    status: int,
    slug: str,
    detail: str,
    title: str | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """Build a problem+json response for ``slug``."""
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title or PROBLEM_TYPES.get(slug, PROBLEM_TYPES["http-error"])[0],
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


# API paths a browser follows from an e-mail or a page (the licence PDF): they answer a browser
# like a page does; every other /api/ path answers problem+json whatever the Accept header.
_BROWSER_API_PATHS = re.compile(r"^/api/v1/licences/[^/]+\.pdf$")


@cache
def _page_templates() -> Templates:
    return Templates()


def browser_error(request: Request, status: int) -> Response | None:
    """A styled, translated page for a browser's 403/404 (and sign-in for its 401 on a link it
    followed); None: answer problem+json."""
    path = request.url.path
    if "text/html" not in request.headers.get("accept", ""):
        return None
    followed_link = _BROWSER_API_PATHS.match(path) is not None
    if path.startswith("/api/") and not followed_link:
        return None
    if status == 401 and followed_link:
        target = f"/auth/login?next={quote(path, safe='')}"
        return RedirectResponse(target, status_code=303)
    if status not in (403, 404, 502, 503):
        return None
    return _page_templates().render(request, "error_page.html", status_code=status, status=status)


def _loc_to_field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        where, parts = parts[0], parts[1:]
        if where != "body":
            parts = [f"{where}:{'.'.join(parts)}"] if parts else [where]
    return ".".join(parts) or "body"


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    if (page := browser_error(request, exc.status)) is not None:
        return page
    extra = None
    if isinstance(exc, ValidationFailed):
        extra = {
            "errors": [{"field": e.field, "rule": e.rule, "message": e.message} for e in exc.errors]
        }
    response = problem_response(request, exc.status, exc.slug, exc.detail, exc.title, extra)
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, int | float):
        response.headers["Retry-After"] = str(max(1, int(retry_after)))
    return response


def wants_page(request: Request) -> bool:
    """A browser asking for a page (not the API): it is answered with a styled page."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept and not request.url.path.startswith("/api/")


async def _request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if wants_page(request) and errors and all(list(e["loc"])[:1] == ["path"] for e in errors):
        # A page address with an id no object can have (a control character, too long): the
        # page does not exist. The API answers the same request with a 422 naming the field.
        from civicloom.web.middleware import edge_error_page

        return HTMLResponse(edge_error_page(request.scope, 404), status_code=404)
    if any(e.get("type") == "json_invalid" for e in errors):
        ctx = errors[0].get("ctx", {})
        return problem_response(
            request,
            400,
            "malformed-json",
            f"the body is not valid JSON: {ctx.get('error', 'parse error')}",
        )
    items = [
        {"field": _loc_to_field(e["loc"]), "rule": e["type"], "message": e["msg"]} for e in errors
    ]
    return problem_response(
        request,
        422,
        "validation-error",
        f"{len(items)} field(s) are invalid",
        extra={"errors": items},
    )


def allowed_methods(request: Request) -> list[str]:
    """Every method the resource at this request's path is served with. The router stops at the
    first route whose path matches, so its own ``Allow`` names that route's methods only. Where
    a literal path and a template both match (``/api/v1/payments/reconciliations`` and
    ``/api/v1/payments/{payment_id}``), the resource is the literal one: the fewest path
    parameters win."""
    keys = ("type", "path", "raw_path", "root_path", "headers", "query_string", "app")
    probe = {key: request.scope[key] for key in keys if key in request.scope}
    served: dict[int, set[str]] = {}  # path parameters of a matching route -> its methods
    for route in iter_route_contexts(request.app.router.routes):
        methods = route.methods
        if not methods:
            continue  # a mount (static files) serves no method list
        # a fresh scope per route: matching writes into the scope it is given
        match, child = route.matches({**probe, "method": "GET"})
        if match != Match.NONE:
            served.setdefault(len(child.get("path_params", {})), set()).update(methods)
    if not served:
        return []
    order = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    return sorted(served[min(served)], key=lambda m: (order.index(m) if m in order else 99, m))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if (page := browser_error(request, exc.status_code)) is not None:
        return page
    slug = _STATUS_SLUGS.get(exc.status_code, "http-error")
    response = problem_response(request, exc.status_code, slug, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 405:
        methods = allowed_methods(request)
        if methods:
            response.headers["Allow"] = ", ".join(methods)
    return response


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled_error", path=request.url.path, exc_info=exc)
    return problem_response(request, 500, "internal-error", "an unexpected error occurred")


async def _database_error(request: Request, exc: Exception) -> Response:
    """A pooled connection the server dropped (a restart, a failover) that reached a request
    unpinged (ADR 0078). The pool is invalidated already, so the next request reconnects.

    Only a read is told to retry (503, ``Retry-After``). A write may have been committed
    before the connection went (a disconnect during COMMIT), and most routes do not replay an
    ``Idempotency-Key``, so any write gets a 502 (the database behind the API broke off, as a
    load balancer answers when a backend does) saying the outcome is not known and to check
    before sending it again (attack review: a retried POST made a second application; a key
    sent to a route that does not replay it protects nothing). Any other database error is
    unexpected."""
    assert isinstance(exc, DBAPIError)
    if not exc.connection_invalidated:
        return await _unexpected(request, exc)
    log.warning("database_connection_lost", path=request.url.path, error=type(exc.orig).__name__)
    if request.method in SAFE_METHODS:
        return unavailable_response(
            request,
            "database-unavailable",
            "the connection to the database was lost; try again in a moment",
            1,
        )
    page = browser_error(request, 502)
    return page or problem_response(
        request,
        502,
        "outcome-unknown",
        "the connection to the database was lost while this request was carried out; it may or"
        " may not have been done: check before sending it again",
    )


def unavailable_response(request: Request, slug: str, detail: str, retry_after: int) -> Response:
    """A 503 that says when to come back: a styled page for a browser, problem+json for
    everyone else, ``Retry-After`` on both."""
    response = browser_error(request, 503) or problem_response(request, 503, slug, detail)
    response.headers["Retry-After"] = str(retry_after)
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Register the problem+json handlers and the /problems/<slug> documentation route."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected)

    @app.get("/problems/{slug}", include_in_schema=False)
    async def problem_type(slug: PathId, request: Request) -> JSONResponse:
        if slug not in PROBLEM_TYPES:
            return problem_response(request, 404, "not-found", f"no problem type {slug!r}")
        title, explanation = PROBLEM_TYPES[slug]
        return JSONResponse(
            {"type": f"/problems/{slug}", "title": title, "description": explanation}
        )
