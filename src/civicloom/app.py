"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import Depends, FastAPI
from sqlalchemy.exc import SQLAlchemyError

from civicloom import __version__
from civicloom.api import (
    api_v1_router,
    callbacks_router,
    capabilities_router,
    casework_router,
    ops_router,
)
from civicloom.backoffice import backoffice_router
from civicloom.documents import documents_pages_router, documents_router
from civicloom.funding import funding_api_router, funding_pages_router
from civicloom.governance import (
    change_requests_router,
    governance_pages_router,
    migration_pages_router,
    refresh_rule_book,
)
from civicloom.govstack.listener import include_govstack
from civicloom.kpis import kpis_api_router, kpis_pages_router, register_operational_metrics
from civicloom.notifications import (
    mail_catcher_enabled,
    messaging_router,
    notifications_pages_router,
    notifications_router,
)
from civicloom.payments import p2g_router, payments_router
from civicloom.portal import portal_router
from civicloom.rules import RULE_BOOK
from civicloom.runtime import Container
from civicloom.settings import Profile
from civicloom.web import (
    PLATFORM_TELEMETRY,
    CsrfCookieMiddleware,
    EdgePolicy,
    api_docs_router,
    auth_api_router,
    auth_router,
    check_every_route_guarded,
    content_security_policy,
    dev_login_router,
    enforce_route_policy,
    install_error_handlers,
    install_middleware,
    install_web_ui,
    language_router,
)
from civicloom.web.middleware import MULTIPART_OVERHEAD
from civicloom.web.openapi import (
    API_CONTACT,
    API_DESCRIPTION,
    API_TAGS,
    install_openapi_conventions,
    operation_id,
)


async def keep_rule_book_current(container: Container) -> None:
    """Teach this process's rule book the decision models of approved change requests, at start
    and then every ``change_publication_seconds`` (ADR 0049: fees are decided when an
    application is submitted, here)."""
    book = container.find(RULE_BOOK)
    while book is not None:
        try:
            await refresh_rule_book(container.uow(), book)
        except SQLAlchemyError as exc:  # the database is down: the next round tries again
            structlog.get_logger().warning("rule book refresh failed", error=str(exc))
        await asyncio.sleep(container.settings.change_publication_seconds)


def create_app(container: Container) -> FastAPI:
    """Build the web application around a container; nothing connects until the first request."""

    @asynccontextmanager
    async def lifespan(started: FastAPI) -> AsyncIterator[None]:
        # Fail closed: routes added after ``create_app`` are checked again before serving.
        check_every_route_guarded(started.routes)
        current = asyncio.create_task(keep_rule_book_current(container))
        yield
        current.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await current
        await container.close()
        await container.database.dispose()

    app = FastAPI(
        telemetry=PLATFORM_TELEMETRY,  # type: ignore[arg-type]
        title="civicloom",
        version=__version__,
        summary="One application, many departments: the public API of civicloom.",
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # Swagger UI from the installed swagger-ui-dist (web/pages.py), no CDN
        redoc_url=None,
        dependencies=[Depends(enforce_route_policy)],
        generate_unique_id_function=operation_id,
        description=API_DESCRIPTION,
        contact=API_CONTACT,
        openapi_tags=API_TAGS,
    )
    install_openapi_conventions(app)
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
            # Forms may lead to the identity providers (logout) and the payment provider's
            # hosted page (the fee), besides this deployment.
            content_security_policy=content_security_policy(
                [
                    settings.oidc_citizen_issuer,
                    settings.oidc_staff_issuer,
                    settings.payments_provider_url or settings.simulator_urls().get("payments", ""),
                    *settings.form_action_origins,
                ]
            ),
            hsts=settings.profile is Profile.PRODUCTION,
        ),
    )
    app.add_middleware(CsrfCookieMiddleware, secure=settings.session_cookie_secure)
    app.include_router(ops_router)
    app.include_router(api_v1_router)
    app.include_router(documents_router)
    app.include_router(documents_pages_router)
    app.include_router(auth_router)
    # Development surfaces exist only outside production (and answer only this machine).
    if settings.dev_login_enabled:
        app.include_router(dev_login_router)
    app.include_router(auth_api_router)
    app.include_router(callbacks_router)
    app.include_router(casework_router)
    app.include_router(capabilities_router)
    app.include_router(change_requests_router)
    app.include_router(payments_router)
    app.include_router(p2g_router)
    app.include_router(notifications_router)
    if mail_catcher_enabled(settings):
        app.include_router(notifications_pages_router)
    app.include_router(messaging_router)
    install_web_ui(app)
    app.include_router(api_docs_router)
    app.include_router(language_router)
    app.include_router(portal_router)
    app.include_router(kpis_pages_router)
    app.include_router(kpis_api_router)
    app.include_router(funding_pages_router)
    app.include_router(governance_pages_router)
    app.include_router(migration_pages_router)
    app.include_router(funding_api_router)
    app.include_router(backoffice_router)
    if settings.govstack_base_path:  # the GovStack facades here too (ADR 0046)
        include_govstack(app, settings.govstack_base_path)
    register_operational_metrics(container.metrics.registry, settings.effective_database_url)
    check_every_route_guarded(app.routes)

    return app
