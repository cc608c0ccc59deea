"""What every portal page shares: templates, the page context, policies, small helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from civicloom.identity import APPLICANT_ROLES
from civicloom.kernel import Principal
from civicloom.web import Templates, negotiate_locale, page_roles, translations_for

templates = Templates([Path(__file__).resolve().parent / "templates"])

APPLICANT_PAGE = page_roles(*sorted(APPLICANT_ROLES))
OWN_OBJECT_PAGE = page_roles(*sorted(APPLICANT_ROLES), conceal=True, owner_scoped=True)


def gettext(request: Request) -> Any:
    """The request locale's ``gettext`` (for messages built in Python)."""
    return translations_for(negotiate_locale(request)).gettext


def nav(request: Request, principal: Principal | None) -> list[dict[str, Any]]:
    """The service navigation bar."""
    _ = gettext(request)
    path = request.url.path
    items = [{"href": "/services", "text": _("Services"), "active": path.startswith("/services")}]
    if principal is not None:
        items += [
            {
                "href": "/applications",
                "text": _("My applications"),
                "active": path.startswith(("/applications", "/drafts")),
            },
            {"href": "/inbox", "text": _("Messages"), "active": path.startswith("/inbox")},
            {"href": "/data-use", "text": _("Who used my data"), "active": path == "/data-use"},
        ]
    return items


def page(
    request: Request,
    name: str,
    principal: Principal | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a portal page with the layout's context filled in."""
    current = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return templates.render(
        request,
        name,
        status_code=status_code,
        nav_items=nav(request, principal),
        signed_in_as=principal.display_name if principal else None,
        sign_in_url=f"/auth/login?audience=citizen&next={current}",
        principal=principal,
        **context,
    )


def see_other(url: str) -> RedirectResponse:
    """Post/redirect/get."""
    return RedirectResponse(url, status_code=303)


def error_list(errors: dict[str, str], fields: dict[str, str]) -> list[dict[str, str]]:
    """A GOV.UK error summary: each message linking to its field's input."""
    return [
        {"text": message, "href": f"#{fields.get(name, name)}"} for name, message in errors.items()
    ]
