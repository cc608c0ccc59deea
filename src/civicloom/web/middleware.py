"""ASGI middleware: request ids, log context, body size limit, tracing and HTTP metrics."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import structlog
from fastapi import FastAPI
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civicloom.kernel import new_id
from civicloom.observability import Metrics, get_logger, get_tracer

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_propagator = TraceContextTextMapPropagator()
_tracer = get_tracer("civicloom.web")
_log = get_logger("civicloom.http")


class PlatformMiddleware:
    """One pure-ASGI middleware for the cross-cutting concerns of every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def _too_large(self, scope: Scope, send: Send, request_id: str) -> None:
        self.metrics.http_requests.labels(scope["method"], "<body-too-large>", "413").inc()
        await _send_problem(
            send,
            413,
            {
                "type": "/problems/payload-too-large",
                "title": "Request body too large",
                "status": 413,
                "detail": f"the body is larger than {self.max_body_bytes} bytes",
                "instance": scope["path"],
                "request_id": request_id,
            },
            request_id,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else new_id()
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)

        # JSON bodies are read here, up to the limit, so an oversize body is refused before any
        # handler runs. Multipart uploads stream through: the documents module limits them itself.
        if scope["method"] in ("POST", "PUT", "PATCH") and not headers.get(
            "content-type", ""
        ).startswith("multipart/"):
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_body_bytes:
                await self._too_large(scope, send, request_id)
                return
            chunks: list[bytes] = []
            size = 0
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_body_bytes:
                    await self._too_large(scope, send, request_id)
                    return
                chunks.append(chunk)
                more = message.get("more_body", False)
            body = b"".join(chunks)
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            receive = replay

        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        parent = _propagator.extract(headers)
        token = otel_context.attach(parent)
        started = time.perf_counter()
        method = scope["method"]
        try:
            with _tracer.start_as_current_span(
                f"{method} {scope['path']}", kind=trace.SpanKind.SERVER
            ) as span:
                span.set_attribute("http.request.method", method)
                span.set_attribute("civicloom.request_id", request_id)
                await self.app(scope, receive, send_wrapper)
                span.set_attribute("http.response.status_code", status)
                route = _route_template(scope)
                span.update_name(f"{method} {route}")
                # One line per request, inside the span so it carries the trace id; the route
                # template, never the raw path or query (they can hold personal data).
                _log.info(
                    "http_request",
                    method=method,
                    route=route,
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                )
        finally:
            otel_context.detach(token)
            route = _route_template(scope)
            self.metrics.http_requests.labels(method, route, str(status)).inc()
            self.metrics.http_latency.labels(method, route).observe(time.perf_counter() - started)


async def _send_problem(send: Send, status: int, body: dict[str, Any], request_id: str) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(payload)).encode()),
                (b"x-request-id", request_id.encode("latin-1")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    # Unmatched paths share one label so scanners cannot explode the metric's cardinality.
    return path if isinstance(path, str) else "<unmatched>"


def install_middleware(app: FastAPI, metrics: Metrics, max_body_bytes: int) -> None:
    """Add the platform middleware to an app."""
    app.add_middleware(PlatformMiddleware, metrics=metrics, max_body_bytes=max_body_bytes)
