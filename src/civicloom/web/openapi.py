"""The public OpenAPI document follows the API conventions of ADR 0051.

Two things FastAPI cannot be told route by route are settled here, once for every router:

- **operation ids** are lowerCamelCase names of the route's use case (``listServices``), not
  FastAPI's path-derived ``list_services_api_v1_services_get``; a route may still name its own
  with ``operation_id=``.
- **errors are problem+json only**: FastAPI documents an extra response's model under the
  route's own media type (``application/json``) and leaves ``application/problem+json`` empty;
  the document says what the server sends (``web/errors.py``): the problem schema under
  ``application/problem+json``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from civicloom.web.errors import PROBLEM_MEDIA_TYPE

API_DESCRIPTION = (
    "Apply once for a service that several departments deliver, follow it, answer officers, "
    "pay and verify licences; officers and operators work cases; departments answer by "
    "callback. Errors are RFC 9457 problem details (`application/problem+json`) whose `type` "
    "names a page under `/problems/`. Conventions: ADR 0051."
)
API_CONTACT = {"name": "The platform's central digital team"}
API_TAGS: list[dict[str, Any]] = [
    {"name": "v1", "description": "Services and the caller's own applications."},
    {"name": "applications", "description": "Following and changing one's own application."},
    {"name": "documents", "description": "Uploads, licences and their verification."},
    {"name": "payments", "description": "Fees, refunds and reconciliation."},
    {"name": "notifications", "description": "The citizen's inbox and notification choices."},
    {"name": "tasks", "description": "Officers' work: claim, decide, ask for information."},
    {"name": "operations", "description": "Operators: dead letters and their re-drive."},
    {"name": "callbacks", "description": "Signed answers of departments' systems."},
    {"name": "capabilities", "description": "The catalogue of department capabilities."},
    {
        "name": "change-requests",
        "description": "Changes to services, rules and templates: draft, submit, approve.",
    },
    {"name": "govstack-payments", "description": "GovStack Payments building block facade."},
    {"name": "govstack-messaging", "description": "GovStack Messaging building block facade."},
]


def operation_id(route: APIRoute) -> str:
    """lowerCamelCase of the route function's name: ``read_status`` → ``readStatus``."""
    head, *rest = route.name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def problem_json_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Move every error response's schema from ``application/json`` to problem+json."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for code, response in (operation.get("responses") or {}).items():
                if not str(code).startswith(("4", "5")):
                    continue
                content = response.get("content") or {}
                # An empty problem+json entry: the route's own media type (JSON, CSV, HTML)
                # carries the problem model. (A route that declares both on purpose, as a
                # GovStack facade answering in its spec's shape, has both schemas and stays.)
                if PROBLEM_MEDIA_TYPE not in content or content[PROBLEM_MEDIA_TYPE].get("schema"):
                    continue
                for media_type in [m for m in content if m != PROBLEM_MEDIA_TYPE]:
                    carried = content.pop(media_type)
                    if not content[PROBLEM_MEDIA_TYPE].get("schema"):
                        content[PROBLEM_MEDIA_TYPE] = carried
    return document


def install_openapi_conventions(app: FastAPI) -> None:
    """Serve (and commit) the OpenAPI document with problem+json-only error responses."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problem_json_errors(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
