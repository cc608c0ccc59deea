"""CSRF protection: signed double-submit tokens for every state-changing form.

A random value lives in the HttpOnly ``civicloom_csrf`` cookie; forms carry
HMAC(secret_key, value) in the ``csrf_token`` field (or the ``X-CSRF-Token`` header).
A cross-site page can neither read the cookie nor compute the token. Templates call
``csrf_input(request)``; the ``CsrfCookieMiddleware`` sets the cookie when a page needed one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from markupsafe import Markup
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civicloom.identity import Forbidden

CSRF_COOKIE = "civicloom_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_STATE_KEY = "csrf_cookie_new"


def _secret_key(request: Request) -> bytes:
    secret: str = request.app.state.container.settings.secret_key.get_secret_value()
    return secret.encode()


def sign_csrf(key: bytes, value: str) -> str:
    """The form token for a CSRF cookie value."""
    return hmac.new(key, f"csrf:{value}".encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token for forms on this page (creates the browser's CSRF cookie if it has none)."""
    value = request.cookies.get(CSRF_COOKIE) or request.scope.setdefault("state", {}).get(
        _STATE_KEY
    )
    if not value:
        value = secrets.token_urlsafe(32)
        request.scope.setdefault("state", {})[_STATE_KEY] = value
    return sign_csrf(_secret_key(request), value)


def csrf_input(request: Request) -> Markup:
    """A hidden form input carrying the CSRF token."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        CSRF_FIELD, csrf_token(request)
    )


async def verify_csrf(request: Request) -> None:
    """Refuse an unsafe request without a valid token (403); safe methods pass."""
    if request.method in SAFE_METHODS:
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        field = form.get(CSRF_FIELD)
        sent = field if isinstance(field, str) else ""
    expected = sign_csrf(_secret_key(request), cookie)
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
