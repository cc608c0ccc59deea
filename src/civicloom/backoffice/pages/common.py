"""What every back-office page shares: templates, the role navigation, guards and form helpers
(the helpers every module's pages share are ``civicloom.web.pages``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from civicloom.api import CATALOGUE_READERS
from civicloom.kernel import Principal, ValidationFailed
from civicloom.web import Templates, page_gettext, page_roles, render_page

templates = Templates([Path(__file__).resolve().parent.parent / "templates"])

OFFICER_PAGE = page_roles("officer", "supervisor")
# Task routes: the case engine answers 404 for a task outside the officer's department.
TASK_PAGE = page_roles("officer", "supervisor", owner_scoped=True)
SUPERVISOR_PAGE = page_roles("supervisor")
OWNER_PAGE = page_roles("service-owner")
OPERATOR_PAGE = page_roles("operator")
AUDITOR_PAGE = page_roles("auditor")
STAFF_PAGE = page_roles(
    "officer",
    "supervisor",
    "service-owner",
    "operator",
    "auditor",
    "finance-officer",
    "platform-owner",
    "department-admin",
    "rule-owner",
    "quality-gate",
)


def nav(request: Request, principal: Principal) -> list[dict[str, Any]]:
    """The back-office navigation: one entry per role the person holds."""
    _ = page_gettext(request)
    path = request.url.path
    items: list[tuple[str, str, set[str]]] = [
        ("/backoffice/tasks", _("Work queue"), {"officer", "supervisor"}),
        ("/backoffice/reviews", _("Reviews of refusals"), {"officer", "supervisor"}),
        ("/backoffice/supervision", _("Supervision"), {"supervisor"}),
        ("/backoffice/services", _("Services and rules"), {"service-owner"}),
        ("/backoffice/operations", _("Operations"), {"operator"}),
        ("/backoffice/audit", _("Audit"), {"auditor"}),
        (
            "/backoffice/kpis",
            _("Performance"),
            {"service-owner", "supervisor", "operator", "auditor"},
        ),
        ("/backoffice/funding", _("Funding statements"), {"finance-officer", "platform-owner"}),
        ("/backoffice/directory", _("Staff directory"), {"department-admin"}),
        (
            "/backoffice/capabilities",
            _("Capability catalogue"),
            {role.value for role in CATALOGUE_READERS},
        ),
        (
            "/backoffice/changes",
            _("Change requests"),
            {"service-owner", "rule-owner", "quality-gate"},
        ),
    ]
    return [
        {"href": href, "text": text, "active": path.startswith(href)}
        for href, text, roles in items
        if roles & principal.roles
    ]


def page(
    request: Request,
    name: str,
    principal: Principal,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a back-office page with the layout's context filled in."""
    return render_page(
        templates, request, name, principal, nav(request, principal), status_code, **context
    )


def field_errors(failed: ValidationFailed) -> dict[str, str]:
    """``{field: message}`` from a use case's validation failure."""
    return {e.field: e.message for e in failed.errors}


async def form_fields(request: Request, *names: str) -> dict[str, str]:
    """The named fields of a url-encoded form (missing ones are empty strings)."""
    form = await request.form(max_files=0, max_fields=20)
    return {name: str(form.get(name) or "") for name in names}
