"""What every back-office page shares: templates, the role navigation, guards and helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from civicloom.kernel import Principal, ValidationFailed
from civicloom.web import Templates, negotiate_locale, page_roles, translations_for

templates = Templates([Path(__file__).resolve().parent / "templates"])

OFFICER_PAGE = page_roles("officer", "supervisor")
# Task routes: the case engine answers 404 for a task outside the officer's department.
TASK_PAGE = page_roles("officer", "supervisor", owner_scoped=True)
SUPERVISOR_PAGE = page_roles("supervisor")
OWNER_PAGE = page_roles("service-owner")
OPERATOR_PAGE = page_roles("operator")
AUDITOR_PAGE = page_roles("auditor")
STAFF_PAGE = page_roles("officer", "supervisor", "service-owner", "operator", "auditor")


def gettext(request: Request) -> Any:
    """The request locale's ``gettext`` (for messages built in Python)."""
    return translations_for(negotiate_locale(request)).gettext


def nav(request: Request, principal: Principal) -> list[dict[str, Any]]:
    """The back-office navigation: one entry per role the person holds."""
    _ = gettext(request)
    path = request.url.path
    items: list[tuple[str, str, set[str]]] = [
        ("/backoffice/tasks", _("Work queue"), {"officer", "supervisor"}),
        ("/backoffice/supervision", _("Supervision"), {"supervisor"}),
        ("/backoffice/services", _("Services and rules"), {"service-owner"}),
        ("/backoffice/operations", _("Operations"), {"operator"}),
        ("/backoffice/audit", _("Audit"), {"auditor"}),
        (
            "/backoffice/kpis",
            _("Performance"),
            {"service-owner", "supervisor", "operator", "auditor"},
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
    return templates.render(
        request,
        name,
        status_code=status_code,
        nav_items=nav(request, principal),
        signed_in_as=principal.display_name,
        principal=principal,
        **context,
    )


def see_other(url: str) -> RedirectResponse:
    """Post/redirect/get."""
    return RedirectResponse(url, status_code=303)


def field_errors(failed: ValidationFailed) -> dict[str, str]:
    """``{field: message}`` from a use case's validation failure."""
    return {e.field: e.message for e in failed.errors}


def error_list(
    errors: dict[str, str], anchors: dict[str, str] | None = None
) -> list[dict[str, str]]:
    """A GOV.UK error summary: each message linking to its field."""
    anchors = anchors or {}
    return [{"text": msg, "href": f"#{anchors.get(name, name)}"} for name, msg in errors.items()]


async def form_fields(request: Request, *names: str) -> dict[str, str]:
    """The named fields of a url-encoded form (missing ones are empty strings)."""
    form = await request.form(max_files=0, max_fields=20)
    return {name: str(form.get(name) or "") for name in names}
