"""The GovStack listener: the facades at the root of their own FastAPI app (ADR 0046).

``create_govstack_app`` builds an app around the same container as the main one (same
database, policies, audit), with the platform's error handlers and edge middleware, every
route guarded (``check_every_route_guarded``) and ``govstack_caller`` resolving GovStack
credentials before each route's guard. ``include_govstack`` adds the same routers to the main
app under ``govstack_base_path`` instead.

The Messaging BB suite expects ``405`` with a JSON body where the native API says ``401``
(no key) or ``422`` (missing body, header or filter): on the listener, those answers of the
Messaging paths keep their problem body and say ``405`` with ``Allow``, as
``application/json`` (``MessagingStatusConvention``). Nothing else changes: a refused request
is refused before the use case runs, whatever the status code says.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civicloom import __version__
from civicloom.govstack.api import (
    mediator_router,
    pubsub_router,
    registration_router,
    registries_router,
)
from civicloom.govstack.api.pubsub import PUBSUB_PATH_PARTS, PUBSUB_PATH_PREFIX
from civicloom.govstack.caller import BEHIND_IM, govstack_caller
from civicloom.notifications import messaging_router
from civicloom.payments import p2g_router
from civicloom.runtime import Container
from civicloom.settings import Profile
from civicloom.web import (
    PLATFORM_TELEMETRY,
    EdgePolicy,
    check_every_route_guarded,
    enforce_route_policy,
    install_error_handlers,
    install_middleware,
    public_route,
)
from civicloom.web.middleware import MULTIPART_OVERHEAD

MESSAGING_METHODS = {
    "/send/email/single": "POST",
    "/send/email/batch": "POST",
    "/status/email": "GET",
    "/callback/email": "POST",
}
"""The Messaging BB's paths and the one method each allows."""
AS_METHOD_NOT_ALLOWED = frozenset({400, 401, 422})


def govstack_routers() -> list[APIRouter]:
    """Every building block's router, in the order they are served."""
    return [
        messaging_router,
        p2g_router,
        registration_router,
        registries_router,
        mediator_router,
        pubsub_router,
    ]


class BehindInformationMediator:
    """Marks every request of the listener as coming through the IM security server (the
    deployment puts it there); ``govstack_caller`` trusts the IM header only on such requests
    and only with ``govstack_trust_im_header``. The main app's mount never has the mark."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})[BEHIND_IM] = True
        await self.app(scope, receive, send)


class MessagingStatusConvention:
    """On the Messaging paths: 400/401/422 answer 405 (with ``Allow``), errors as JSON."""

    def __init__(self, app: ASGIApp, base_path: str = "") -> None:
        self.app = app
        self.paths = {f"{base_path}{p}": m for p, m in MESSAGING_METHODS.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        allowed = self.paths.get(scope.get("path", "")) if scope["type"] == "http" else None
        if allowed is None:
            await self.app(scope, receive, send)
            return

        async def convert(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"content-type", b"allow")
                ]
                headers.append((b"content-type", b"application/json"))
                status = message["status"]
                if status in AS_METHOD_NOT_ALLOWED or status == 405:
                    status = 405
                    headers.append((b"allow", allowed.encode()))
                message = {**message, "status": status, "headers": headers}
            await send(message)

        await self.app(scope, receive, convert)


class PubSubStatusConvention:
    """On the IM pub/sub paths: a body or header of the wrong shape (422) answers 400, the IM
    spec's "Invalid request" (the problem body, naming the field, unchanged)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path.startswith(PUBSUB_PATH_PREFIX) and any(p in path for p in PUBSUB_PATH_PARTS)):
            await self.app(scope, receive, send)
            return

        async def convert(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 422:
                message = {**message, "status": 400}
            await send(message)

        await self.app(scope, receive, convert)


def _serve_openapi(app: FastAPI) -> None:
    """``GET /openapi.json``: the listener's contract (the facades only), public."""

    @app.get("/openapi.json", include_in_schema=False, dependencies=[public_route()])
    async def openapi(request: Request) -> JSONResponse:
        """The listener's contract (the facades only)."""
        return JSONResponse(app.openapi())


def create_govstack_app(container: Container, *, own_container: bool = True) -> FastAPI:
    """The GovStack facades at the root of an app; ``own_container`` closes it on shutdown."""

    @asynccontextmanager
    async def lifespan(started: FastAPI) -> AsyncIterator[None]:
        check_every_route_guarded(started.routes)
        yield
        if own_container:
            await container.close()
            await container.database.dispose()

    app = FastAPI(
        telemetry=PLATFORM_TELEMETRY,  # type: ignore[arg-type]
        title="civicloom GovStack facades",
        version=__version__,
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(govstack_caller), Depends(enforce_route_policy)],
    )
    app.state.container = container
    install_error_handlers(app)
    settings = container.settings
    install_middleware(
        app,
        container.metrics,
        EdgePolicy(
            max_body_bytes=settings.max_body_bytes,
            upload_body_bytes=settings.document_max_bytes + MULTIPART_OVERHEAD,
            trusted_proxies=tuple(settings.trusted_proxies),
            content_security_policy="default-src 'none'",
            hsts=settings.profile is Profile.PRODUCTION,
        ),
    )
    app.add_middleware(MessagingStatusConvention)
    app.add_middleware(PubSubStatusConvention)
    app.add_middleware(BehindInformationMediator)
    for router in govstack_routers():
        app.include_router(router)
    _serve_openapi(app)
    check_every_route_guarded(app.routes)
    return app


def include_govstack(app: FastAPI, base_path: str) -> None:
    """Serve the facades on the main app under ``base_path`` (``govstack_base_path``)."""
    caller: list[Any] = [Depends(govstack_caller)]
    for router in govstack_routers():
        app.include_router(router, prefix=base_path, dependencies=caller)
