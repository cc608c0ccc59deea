"""The GovStack listener: the facades at the root of their own FastAPI app.

``create_govstack_app`` builds an app around the same container as the main one (same
database, policies, audit), with the platform's error handlers and edge middleware, and every
route guarded (``check_every_route_guarded``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from civicloom import __version__
from civicloom.govstack.api import mediator_router, registration_router, registries_router
from civicloom.notifications import messaging_router
from civicloom.payments import p2g_router
from civicloom.runtime import Container
from civicloom.settings import Profile
from civicloom.web import (
    EdgePolicy,
    check_every_route_guarded,
    enforce_route_policy,
    install_error_handlers,
    install_middleware,
)
from civicloom.web.middleware import MULTIPART_OVERHEAD


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
        title="civicloom GovStack facades",
        version=__version__,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(enforce_route_policy)],
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
            content_security_policy="default-src 'none'",
            hsts=settings.profile is Profile.PRODUCTION,
        ),
    )
    app.include_router(messaging_router)
    app.include_router(p2g_router)
    app.include_router(registration_router)
    app.include_router(registries_router)
    app.include_router(mediator_router)
    check_every_route_guarded(app.routes)
    return app
