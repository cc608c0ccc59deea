"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from civicloom import __version__
from civicloom.api import api_v1_router, callbacks_router, casework_router, ops_router
from civicloom.backoffice import backoffice_router
from civicloom.documents import documents_pages_router, documents_router
from civicloom.funding import funding_api_router, funding_pages_router
from civicloom.kpis import kpis_api_router, kpis_pages_router, register_operational_metrics
from civicloom.notifications import (
    messaging_router,
    notifications_pages_router,
    notifications_router,
)
from civicloom.payments import p2g_router, payments_router
from civicloom.portal import portal_router
from civicloom.runtime import Container
from civicloom.web import (
    CsrfCookieMiddleware,
    auth_api_router,
    auth_router,
    enforce_route_policy,
    install_error_handlers,
    install_middleware,
    install_web_ui,
    language_router,
)


def create_app(container: Container) -> FastAPI:
    """Build the web application around a container; nothing connects until the first request."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await container.close()
        await container.database.dispose()

    app = FastAPI(
        title="civicloom",
        version=__version__,
        summary="One application, many departments: the public API of civicloom.",
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        dependencies=[Depends(enforce_route_policy)],
    )
    app.state.container = container
    install_error_handlers(app)
    install_middleware(app, container.metrics, container.settings.max_body_bytes)
    app.add_middleware(CsrfCookieMiddleware, secure=container.settings.session_cookie_secure)
    app.include_router(ops_router)
    app.include_router(api_v1_router)
    app.include_router(documents_router)
    app.include_router(documents_pages_router)
    app.include_router(auth_router)
    app.include_router(auth_api_router)
    app.include_router(callbacks_router)
    app.include_router(casework_router)
    app.include_router(payments_router)
    app.include_router(p2g_router)
    app.include_router(notifications_router)
    app.include_router(notifications_pages_router)
    app.include_router(messaging_router)
    install_web_ui(app)
    app.include_router(language_router)
    app.include_router(portal_router)
    app.include_router(kpis_pages_router)
    app.include_router(kpis_api_router)
    app.include_router(funding_pages_router)
    app.include_router(funding_api_router)
    app.include_router(backoffice_router)
    register_operational_metrics(
        container.metrics.registry, container.settings.effective_database_url
    )

    return app
