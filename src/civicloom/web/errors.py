"""RFC 9457 problem+json for every error, each with a stable ``type``."""

from __future__ import annotations

import re
from functools import cache
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from civicloom.kernel import DomainError, ValidationFailed
from civicloom.observability import get_logger
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
    "payload-too-large": ("Request body too large", "The body exceeds the size limit."),
    "not-found": ("Not found", "The resource does not exist or is not visible to you."),
    "conflict": ("Conflict", "The request conflicts with the current state."),
    "unauthenticated": ("Authentication required", "Send valid credentials."),
    "forbidden": ("Forbidden", "You are authenticated but may not do this."),
    "method-not-allowed": ("Method not allowed", "This resource does not accept that method."),
    "unsupported-media-type": ("Unsupported media type", "Send application/json."),
    "too-many-requests": (
        "Too many requests",
        "You made too many attempts in a short time; wait before trying again.",
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
    if status not in (403, 404):
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


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
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


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if (page := browser_error(request, exc.status_code)) is not None:
        return page
    slug = _STATUS_SLUGS.get(exc.status_code, "http-error")
    response = problem_response(request, exc.status_code, slug, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled_error", path=request.url.path, exc_info=exc)
    return problem_response(request, 500, "internal-error", "an unexpected error occurred")


def install_error_handlers(app: FastAPI) -> None:
    """Register the problem+json handlers and the /problems/<slug> documentation route."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)

    @app.get("/problems/{slug}", include_in_schema=False)
    async def problem_type(slug: str, request: Request) -> JSONResponse:
        if slug not in PROBLEM_TYPES:
            return problem_response(request, 404, "not-found", f"no problem type {slug!r}")
        title, explanation = PROBLEM_TYPES[slug]
        return JSONResponse(
            {"type": f"/problems/{slug}", "title": title, "description": explanation}
        )
