"""ASGI middleware: request ids, log context, the streaming body limit, security headers,
tracing and HTTP metrics (ADR 0035)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.routing import iter_route_contexts
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.routing import BaseRoute, Mount, Router, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civicloom.kernel import new_id
from civicloom.observability import Metrics, get_logger, get_tracer
from civicloom.web.deps import policy_for_route
from civicloom.web.errors import PROBLEM_TYPES
from civicloom.web.proxies import Network, resolve_client
from civicloom.web.session import SESSION_COOKIE
from civicloom.web.templating import Templates

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_propagator = TraceContextTextMapPropagator()
_tracer = get_tracer("civicloom.web")
_log = get_logger("civicloom.http")
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_MAX_LABEL_SETS = 4096
MULTIPART_OVERHEAD = 64 * 1024
"""Room for the form's other fields and part headers around an uploaded file."""


def content_security_policy(form_targets: Iterable[str] = ()) -> str:
    """The CSP of every response: only this deployment's own scripts, styles, images and fonts;
    no inline script or style, no framing. ``form_targets`` are other origins a form may post
    to or redirect to (the identity providers' logout, the payment provider's hosted page)."""
    origins = sorted(
        {f"{u.scheme}://{u.netloc}" for u in map(urlsplit, form_targets) if u.scheme and u.netloc}
    )
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action " + " ".join(["'self'", *origins]),
            "frame-ancestors 'none'",
        ]
    )


DEFAULT_CSP = content_security_policy()


@cache
def _error_templates() -> Templates:
    return Templates()


def edge_error_page(scope: Scope, status: int) -> str:
    """The styled page a browser sees when the edge refuses its request."""
    return _error_templates().render_string(Request(scope), "edge_error.html", status=status)


@dataclass(frozen=True)
class EdgePolicy:
    """What the platform middleware enforces at the edge, before any route runs.

    ``max_body_bytes`` bounds every request body; routes marked ``large_body()`` (uploads) may
    send up to ``upload_body_bytes``. ``content_security_policy`` goes on every response;
    ``hsts`` (production) adds ``Strict-Transport-Security``. From ``trusted_proxies`` the
    client address is taken from ``X-Forwarded-For`` (``civicloom.web.proxies``).
    """

    max_body_bytes: int
    upload_body_bytes: int
    content_security_policy: str = DEFAULT_CSP
    hsts: bool = False
    trusted_proxies: tuple[Network, ...] = ()


class LargeBody:
    """Marks a route whose body may be as large as an upload (see ``large_body``)."""

    async def __call__(self) -> None:
        """Nothing to do at run time: the middleware reads the mark before the route runs."""

    def __repr__(self) -> str:
        return "LargeBody()"


_LARGE_BODY = LargeBody()


def large_body() -> Any:
    """``dependencies=[large_body()]``: this route accepts bodies up to the upload limit."""
    return Depends(_LARGE_BODY)


class PlatformMiddleware:
    """One pure-ASGI middleware for the cross-cutting concerns of every HTTP request."""

    def __init__(
        self, app: ASGIApp, metrics: Metrics, edge: EdgePolicy, router: Router | None = None
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.edge = edge
        self.router = router
        self._table: list[tuple[re.Pattern[str], frozenset[str], BaseRoute]] | None = None
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.security_headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
            (b"content-security-policy", edge.content_security_policy.encode("latin-1")),
        ]
        if edge.hsts:
            self.security_headers.append(
                (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
            )

    def _route(self, scope: Scope) -> BaseRoute | None:
        """The route a request with a body will reach (routers included), found before the
        body is read so that its limit and policy apply from the first byte."""
        if self.router is None:
            return None
        if self._table is None:
            table = []
            for context in iter_route_contexts(self.router.routes):
                if isinstance(context.original_route, Mount) or not isinstance(context.path, str):
                    continue
                regex, _, _ = compile_path(context.path)
                table.append((regex, frozenset(context.methods or ()), context.original_route))
            self._table = table
        for regex, methods, route in self._table:
            if regex.match(scope["path"]) and (not methods or scope["method"] in methods):
                return route
        return None

    def _limit(self, route: BaseRoute | None) -> int:
        for dependency in getattr(route, "dependencies", []):
            if isinstance(dependency.dependency, LargeBody):
                return self.edge.upload_body_bytes
        return self.edge.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        client = scope.get("client")
        if self.edge.trusted_proxies and client and "x-forwarded-for" in headers:
            # Every later reader (rate limits, loopback-only surfaces) sees the resolved client.
            forwarded = [
                v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"
            ]
            resolved = resolve_client(client[0], forwarded, self.edge.trusted_proxies)
            scope["client"] = (resolved, client[1])
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else new_id()
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        method = scope["method"]
        status = 500
        started = time.perf_counter()
        # Every body (JSON, form or multipart) is bounded while it streams in: a body that says
        # or turns out to be larger than the route's limit is refused before anything parses it.
        exceeded = False
        limit = self.edge.max_body_bytes
        if method not in _BODYLESS:
            route = self._route(scope)
            limit = self._limit(route)
            declared = headers.get("content-length", "")
            refusal: tuple[int, str, str] | None = None
            if declared.isdigit() and int(declared) > limit:
                refusal = (413, "payload-too-large", f"the body is larger than {limit} bytes")
            close = True
            if refusal is None and _anonymous_api_call(scope, headers, route):
                # An API call without credentials is refused before its body is parsed. A
                # declared body (at most the limit) is read and discarded first: closing on
                # bytes still in flight makes the client's kernel reset the connection, and the
                # client never sees the 401 (RFC 9112 section 9.6). A body of unknown length is
                # not read at all; that connection is closed.
                if declared.isdigit() and "100-continue" not in headers.get("expect", ""):
                    close = not await _discard_body(receive, limit)
                refusal = (
                    401,
                    "unauthenticated",
                    "sign in, or send an Authorization: Bearer token",
                )
            if refusal is not None:
                self._count(method, _route_template(scope), refusal[0])
                await _send_refusal(
                    send, scope, headers, request_id, *refusal, self.security_headers, close=close
                )
                return
            size = 0
            upstream = receive

            async def limited() -> Message:
                nonlocal size, exceeded
                if exceeded:
                    return {"type": "http.disconnect"}
                message = await upstream()
                if message["type"] == "http.request":
                    size += len(message.get("body", b""))
                    if size > limit:
                        # Stop reading: the app sees a disconnected client, we answer 413.
                        exceeded = True
                        return {"type": "http.disconnect"}
                return message

            receive = limited

        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if exceeded and not response_started:
                return  # the app's reaction to the cut-off body is replaced by the 413
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                message["headers"] = [
                    *headers,
                    (b"x-request-id", request_id.encode("latin-1")),
                    # A response that set its own (stricter) value keeps it.
                    *(h for h in self.security_headers if h[0] not in present),
                ]
            await send(message)

        parent = _propagator.extract(headers)
        token = otel_context.attach(parent)
        try:
            with _tracer.start_as_current_span(
                f"{method} {scope['path']}",
                kind=trace.SpanKind.SERVER,
                attributes={"http.request.method": method, "civicloom.request_id": request_id},
            ) as span:
                try:
                    await self.app(scope, receive, send_wrapper)
                except Exception:
                    if not exceeded or response_started:
                        raise
                if exceeded and not response_started:
                    status = 413
                    await _send_refusal(
                        send,
                        scope,
                        headers,
                        request_id,
                        413,
                        "payload-too-large",
                        f"the body is larger than {limit} bytes",
                        self.security_headers,
                    )
                span.set_attribute("http.response.status_code", status)
                route_label = _route_template(scope)
                span.update_name(f"{method} {route_label}")
                # One line per request, inside the span so it carries the trace id; the route
                # template, never the raw path or query (they can hold personal data).
                _log.info(
                    "http_request",
                    method=method,
                    route=route_label,
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                )
        finally:
            otel_context.detach(token)
            self._count(method, _route_template(scope), status, time.perf_counter() - started)

    def _count(self, method: str, route: str, status: int, seconds: float | None = None) -> None:
        """Count a request (and observe its latency): the labelled children are looked up once
        per (method, route, status) and kept, not resolved by ``labels()`` on every request."""
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.metrics.http_requests.labels(method, route, str(status)),
                self.metrics.http_latency.labels(method, route),
            )
            # Routes are templates and statuses few; a client's invented methods are not kept.
            if len(self._children) < _MAX_LABEL_SETS:
                self._children[key] = children
        children[0].inc()
        if seconds is not None:
            children[1].observe(seconds)


async def _discard_body(receive: Receive, limit: int) -> bool:
    """Read a request body without keeping it; whether it ended within ``limit`` bytes."""
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return False
        size += len(message.get("body", b""))
        if size > limit:
            return False
        if not message.get("more_body", False):
            return True


def _anonymous_api_call(scope: Scope, headers: dict[str, str], route: BaseRoute | None) -> bool:
    """An API request with no credentials at all to a route that needs them."""
    if not scope["path"].startswith("/api/") or route is None:
        return False
    if headers.get("authorization") or f"{SESSION_COOKIE}=" in headers.get("cookie", ""):
        return False
    policy = policy_for_route(route, scope["method"])
    return policy is not None and not policy.public


async def _send_refusal(
    send: Send,
    scope: Scope,
    headers: dict[str, str],
    request_id: str,
    status: int,
    slug: str,
    detail: str,
    security_headers: list[tuple[bytes, bytes]],
    *,
    close: bool = True,
) -> None:
    """A refusal at the edge: a styled page for browsers, problem+json for everyone else.

    ``close``: the body was not read, so the connection cannot carry another request."""
    if "text/html" in headers.get("accept", "") and not scope["path"].startswith("/api/"):
        payload = edge_error_page(scope, status).encode()
        content_type = b"text/html; charset=utf-8"
    else:
        payload = json.dumps(
            {
                "type": f"/problems/{slug}",
                "title": PROBLEM_TYPES[slug][0],
                "status": status,
                "detail": detail,
                "instance": scope["path"],
                "request_id": request_id,
            }
        ).encode()
        content_type = b"application/problem+json"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(payload)).encode()),
                (b"x-request-id", request_id.encode("latin-1")),
                *([(b"connection", b"close")] if close else []),
                *security_headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    # Unmatched paths share one label so scanners cannot explode the metric's cardinality.
    return path if isinstance(path, str) else "<unmatched>"


PLATFORM_TELEMETRY: dict[str, bool] = {"tracing": False, "metrics": False, "logs": False}
"""``FastAPI(telemetry=PLATFORM_TELEMETRY)``: FastAPI's own OpenTelemetry instrumentation stays
off. The platform middleware already opens the one server span per request (named by route
template, never the raw path or query, which can hold personal data), counts requests and
logs one line; FastAPI's would add a second server span carrying ``url.path`` and
``url.query``, a span per dependency and serializer, and its own metrics: about half the
request path's CPU for /healthz (benchmarks/README.md, ADR 0062)."""


def install_middleware(app: FastAPI, metrics: Metrics, edge: EdgePolicy) -> None:
    """Add the platform middleware to an app (it sees the app's routes to find each limit)."""
    app.add_middleware(PlatformMiddleware, metrics=metrics, edge=edge, router=app.router)
