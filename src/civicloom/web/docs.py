"""The public API's documentation page: Swagger UI from the installed npm package
``swagger-ui-dist`` (served at ``/api-docs``), never from a CDN, so it works in a closed network
and under the platform's Content-Security-Policy (no inline script; ADR 0035)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from civicloom.web.deps import public_route

API_DOCS_ASSETS = "/api-docs"
api_docs_router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>civicloom – public API</title>
<link rel="stylesheet" href="/api-docs/swagger-ui.css">
<link rel="icon" href="/static/civicloom.svg" type="image/svg+xml">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/api/v1/openapi.json"></div>
<script src="/api-docs/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


@api_docs_router.get("/api/v1/docs", response_class=HTMLResponse, dependencies=[public_route()])
async def api_docs() -> HTMLResponse:
    """Swagger UI for the public API, every asset served by this deployment."""
    return HTMLResponse(_PAGE)


def install_api_docs(app: FastAPI, node_modules: Path) -> None:
    """Serve ``swagger-ui-dist`` at ``/api-docs`` and the documentation page."""
    app.mount(
        API_DOCS_ASSETS,
        StaticFiles(directory=node_modules / "swagger-ui-dist", check_dir=False),
        name="api-docs",
    )
    app.include_router(api_docs_router)
