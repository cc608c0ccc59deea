"""Who may read a process's Prometheus metrics (ADR 0062), for the API's ``/metrics`` and each
worker's own metrics port alike: the scraper holding ``metrics_token`` (a bearer token), or a
caller from ``metrics_networks``; with neither configured (only outside production, which
refuses to start so) this machine alone may read."""

from __future__ import annotations

import hmac
import json
import socket
import threading
from collections.abc import Callable, Iterable
from ipaddress import ip_address
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from civicloom.settings import Settings
from civicloom.web.proxies import is_trusted


def metrics_caller_allowed(settings: Settings, authorization: str, host: str) -> bool:
    """Whether a caller at ``host`` presenting ``authorization`` may read the metrics."""
    token = settings.metrics_token
    if token is not None and not token.get_secret_value():
        token = None  # an empty token is no token: never a match for an empty credential
    if token is not None:
        scheme, _, credential = authorization.partition(" ")
        expected = token.get_secret_value().encode()
        if scheme.lower() == "bearer" and hmac.compare_digest(credential.encode(), expected):
            return True
    if settings.metrics_networks:
        return is_trusted(host, settings.metrics_networks)
    if token is not None:
        return False
    try:
        address = ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 on a dual-stack socket
    return (mapped or address).is_loopback


_REFUSED = json.dumps(
    {
        "type": "/problems/forbidden",
        "title": "Forbidden",
        "status": 403,
        "detail": "the metrics are for the monitoring system (metrics_token or network)",
    }
).encode()

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def guarded_metrics_app(settings: Settings, registry: CollectorRegistry) -> WsgiApp:
    """Prometheus's WSGI exposition behind the same check as the API's ``/metrics``."""
    inner = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
        if not metrics_caller_allowed(settings, authorization, str(environ.get("REMOTE_ADDR"))):
            start_response("403 Forbidden", [("Content-Type", "application/problem+json")])
            return [_REFUSED]
        return inner(environ, start_response)  # type: ignore[no-any-return]

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged line by line (the worker logs in JSON)."""


def serve_metrics(
    settings: Settings, registry: CollectorRegistry, port: int
) -> tuple[ThreadingWSGIServer, threading.Thread]:
    """Serve a worker's metrics on ``port`` in a daemon thread, guarded like ``/metrics``."""
    family = socket.getaddrinfo(settings.host, port, type=socket.SOCK_STREAM)[0][0]
    server_class = type("MetricsServer", (ThreadingWSGIServer,), {"address_family": family})
    server: ThreadingWSGIServer = make_server(
        settings.host,
        port,
        guarded_metrics_app(settings, registry),
        server_class,
        handler_class=_QuietHandler,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread
