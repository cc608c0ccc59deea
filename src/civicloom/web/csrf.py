"""CSRF protection: signed double-submit tokens bound to the session (ADR 0035).

A random value lives in the HttpOnly ``civicloom_csrf`` cookie; forms carry
HMAC(secret_key, value + digest of the session cookie) in the ``csrf_token`` field, the
``X-CSRF-Token`` header or, for ``multipart/form-data`` forms, the ``csrf_token`` query parameter
of the form's action (``csrf_query(request)``). A cross-site page can neither read the cookies
nor compute the token, and a token stops working when the session it was issued for ends.

The token is checked without parsing a multipart body: such a request must carry the token in
the header or the query, so an upload is refused before a byte of it is read. URL-encoded forms
are read whole, but only up to the platform's body limit (``web/middleware.py``).
Templates call ``csrf_input(request)``; the ``CsrfCookieMiddleware`` sets the cookie when a page
needed one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlencode

from fastapi import Request
from markupsafe import Markup
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civicloom.identity import Forbidden
from civicloom.web.session import SESSION_COOKIE

CSRF_COOKIE = "civicloom_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_STATE_KEY = "csrf_cookie_new"


def _secret_key(request: Request) -> bytes:
    secret: str = request.app.state.container.settings.secret_key.get_secret_value()
    return secret.encode()


def sign_csrf(key: bytes, value: str, session: str = "") -> str:
    """The form token for a CSRF cookie value and the session cookie (if any) it serves."""
    message = f"csrf:{value}"
    if session:
        message += ":" + hashlib.sha256(session.encode()).hexdigest()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def _session(request: Request) -> str:
    return request.cookies.get(SESSION_COOKIE, "")


def csrf_token(request: Request) -> str:
    """The token for forms on this page (creates the browser's CSRF cookie if it has none)."""
    value = request.cookies.get(CSRF_COOKIE) or request.scope.setdefault("state", {}).get(
        _STATE_KEY
    )
    if not value:
        value = secrets.token_urlsafe(32)
        request.scope.setdefault("state", {})[_STATE_KEY] = value
    return sign_csrf(_secret_key(request), value, _session(request))


def csrf_input(request: Request) -> Markup:
    """A hidden form input carrying the CSRF token."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        CSRF_FIELD, csrf_token(request)
    )


def csrf_query(request: Request) -> str:
    """``csrf_token=…`` for the action URL of a ``multipart/form-data`` form."""
    return urlencode({CSRF_FIELD: csrf_token(request)})


async def verify_csrf(request: Request) -> None:
    """Refuse an unsafe request without a valid token (403); safe methods pass.

    Never parses a multipart body: its token comes in the header or the query string.
    """
    if request.method in SAFE_METHODS:
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "") or request.query_params.get(CSRF_FIELD, "")
    if not sent and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        form = await request.form(max_files=0, max_fields=200)
        field = form.get(CSRF_FIELD)
        sent = field if isinstance(field, str) else ""
    expected = sign_csrf(_secret_key(request), cookie, _session(request))
    if not cookie or not sent or not hmac.compare_digest(sent, expected):
        raise Forbidden("the form's CSRF token is missing or invalid; reload the page and retry")


class CsrfCookieMiddleware:
    """Sets the CSRF cookie on responses whose page created a token."""

    def __init__(self, app: ASGIApp, secure: bool) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass through, adding ``Set-Cookie`` when needed."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            value = scope.get("state", {}).get(_STATE_KEY)
            if message["type"] == "http.response.start" and value:
                attributes = "Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if self.secure else "")
                cookie = f"{CSRF_COOKIE}={value}; {attributes}".encode("latin-1")
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie)]
            await send(message)

        await self.app(scope, receive, send_wrapper)
