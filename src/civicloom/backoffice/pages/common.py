"""What every back-office page shares: templates, the role navigation, guards and form helpers
(the helpers every module's pages share are ``civicloom.web.pages``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from civicloom.api import CATALOGUE_READERS
from civicloom.catalogue import Blueprint, list_current_blueprints
from civicloom.departments import load_departments
from civicloom.documents import DocumentRef
from civicloom.kernel import LocalisedText, Principal, ValidationFailed
from civicloom.runtime import Container
from civicloom.web import (
    Templates,
    get_container,
    negotiate_locale,
    page_gettext,
    page_roles,
    render_page,
)

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
        # last: /backoffice sends each person to their first entry (ADR 0063)
        ("/backoffice/cases", _("Find a case"), {"officer", "supervisor", "auditor"}),
    ]
    return [
        {"href": href, "text": text, "active": path.startswith(href)}
        for href, text, roles in items
        if roles & principal.roles
    ]


@functools.lru_cache(maxsize=8)
def _department_names(blueprints_dir: Path) -> dict[str, LocalisedText]:
    """Each department's name from its own file (the files are what the database is synced
    from at start-up, so the two agree)."""
    return {d.id: d.name for d in load_departments(blueprints_dir)}


def department_namer(request: Request) -> Callable[[str | None], str]:
    """``department_name(id)`` in the reader's language: a person reads "Tax Authority" or
    "税务局", never ``tax``; an id no file names is shown as it is."""
    names = _department_names(get_container(request).settings.blueprints_dir)
    locale = negotiate_locale(request)

    def name(department: str | None) -> str:
        if not department:
            return ""
        return names[department].get(locale) if department in names else department

    return name


async def service_namer(container: Container, request: Request) -> Callable[[str], str]:
    """``service_name(id)`` in the reader's language, from the services' current versions."""
    async with container.uow() as uow:
        titles = {
            p.blueprint.id: p.blueprint.title for p in await list_current_blueprints(uow.session)
        }
    locale = negotiate_locale(request)
    return lambda service: titles[service].get(locale) if service in titles else service


async def service_and_step_namers(
    container: Container, request: Request
) -> tuple[Callable[[str], str], Callable[[str, str], str]]:
    """``service_name(id)`` and ``step_name(service, step)`` in the reader's language, from the
    services' current versions (one read): a step's title, never its id, where the service
    gives one."""
    async with container.uow() as uow:
        current = [p.blueprint for p in await list_current_blueprints(uow.session)]
    return namers_of(current, request)


def namers_of(
    current: Collection[Blueprint], request: Request
) -> tuple[Callable[[str], str], Callable[[str, str], str]]:
    """``service_and_step_namers`` of services' current versions already read."""
    services = {b.id: b.title for b in current}
    steps = {(b.id, s.id): s.title for b in current for s in b.steps if s.title is not None}
    locale = negotiate_locale(request)

    def service_name(service: str) -> str:
        return services[service].get(locale) if service in services else service

    def step_name(service: str, step: str) -> str:
        title = steps.get((service, step))
        return title.get(locale) if title is not None else step.replace("_", " ").capitalize()

    return service_name, step_name


def page(
    request: Request,
    name: str,
    principal: Principal,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a back-office page with the layout's context filled in."""
    context.setdefault("department_name", department_namer(request))
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


def document_response(ref: DocumentRef, content: bytes, inline_types: Collection[str]) -> Response:
    """A document an officer opens: sandboxed, never sniffed or cached; the types in
    ``inline_types`` shown in the browser, others downloaded."""
    disposition = "inline" if ref.media_type in inline_types else "attachment"
    return Response(
        content,
        media_type=ref.media_type,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(ref.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
            "Cache-Control": "no-store",
        },
    )
