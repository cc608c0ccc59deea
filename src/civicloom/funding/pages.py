"""Funding pages: the overview (every department the caller may read, side by side), a
department's monthly statement and its drill-down to service and day (downloads: ``api.py``)."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from civicloom.backoffice import backoffice_nav, department_namer
from civicloom.funding.api import FUNDING_ROLES, DepartmentParam, MonthParam, tariffs_of
from civicloom.funding.domain import Month, format_minor, meter_labels
from civicloom.funding.services import (
    day_usage,
    read_statement,
    statements,
    visible_departments,
)
from civicloom.kernel import NotFound, Principal, ValidationFailed
from civicloom.web import (
    ContainerDep,
    CurrentPrincipal,
    Templates,
    negotiate_locale,
    page_roles,
    render_page,
    translations_for,
)
from civicloom.web.charts import Bar, bar_chart

templates = Templates([Path(__file__).parent / "templates"])
funding_pages_router = APIRouter(include_in_schema=False)
MonthQuery = Annotated[str | None, Query(max_length=20)]


def _title(request: Request, text: str) -> str:
    return translations_for(negotiate_locale(request)).gettext(text)


def _render(
    request: Request, principal: Principal, name: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A funding page inside the back office's layout (its navigation, who is signed in)."""
    context.setdefault("department_name", department_namer(request))
    return render_page(
        templates,
        request,
        name,
        principal,
        backoffice_nav(request, principal),
        status_code,
        **context,
    )


def _not_found(request: Request, principal: CurrentPrincipal) -> HTMLResponse:
    return _render(
        request, principal, "funding/not_found.html", 404, title=_title(request, "Page not found")
    )


@funding_pages_router.get("/backoffice/funding", dependencies=[page_roles(*FUNDING_ROLES)])
async def overview(
    request: Request, container: ContainerDep, principal: CurrentPrincipal, month: MonthQuery = None
) -> HTMLResponse:
    """Every department the caller may read, side by side, for one month (default: this one)."""
    context: dict[str, Any] = {
        "title": _title(request, "Funding shared platforms"),
        "month": month or "",
        "money": format_minor,
    }
    try:
        chosen = (
            Month.parse(month) if month else Month.of(container.clock.now().astimezone(UTC).date())
        )
    except ValidationFailed as exc:
        errors = [{"text": e.message, "href": f"#{e.field}"} for e in exc.errors]
        return _render(
            request, principal, "funding/overview.html", 400, error_summary=errors, **context
        )
    tariffs = tariffs_of(container)
    today = container.clock.now().astimezone(UTC).date()
    try:
        departments = visible_departments(principal, tariffs, chosen)
        found = await statements(container.uow(), tariffs, chosen, departments, today)
    except NotFound:
        return _not_found(request, principal)
    _ = translations_for(negotiate_locale(request)).gettext
    currency = found[0].currency if found else ""
    name = department_namer(request)
    chart = bar_chart(
        _("Charged year to date, per department"),
        _("What each department has been charged since the financial year began."),
        [
            Bar(
                name(s.department),
                float(s.ytd_total_minor),
                format_minor(s.ytd_total_minor, currency),
            )
            for s in found
        ],
    )
    context.update(month=str(chosen), statements=found, chart=chart, currency=currency)
    return _render(request, principal, "funding/overview.html", **context)


@funding_pages_router.get(
    "/backoffice/funding/{department}/{month}", dependencies=[page_roles(*FUNDING_ROLES)]
)
async def statement_page(
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    department: DepartmentParam,
    month: MonthParam,
) -> HTMLResponse:
    """A department's statement for a month; another department's answers 404."""
    try:
        statement = await read_statement(
            container.uow(),
            container.clock,
            tariffs_of(container),
            principal,
            department,
            Month.parse(month),
            "page",
        )
    except (NotFound, ValidationFailed):
        return _not_found(request, principal)
    return _render(
        request,
        principal,
        "funding/statement.html",
        title=_title(request, "Funding statement"),
        labels=meter_labels(translations_for(negotiate_locale(request)).gettext),
        statement=statement,
        money=format_minor,
    )


@funding_pages_router.get(
    "/backoffice/funding/{department}/{month}/days", dependencies=[page_roles(*FUNDING_ROLES)]
)
async def statement_days(
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    department: DepartmentParam,
    month: MonthParam,
) -> HTMLResponse:
    """The drill-down: the month's usage per day and service."""
    try:
        chosen = Month.parse(month)
        statement = await read_statement(
            container.uow(),
            container.clock,
            tariffs_of(container),
            principal,
            department,
            chosen,
            "days",
        )
    except (NotFound, ValidationFailed):
        return _not_found(request, principal)
    rows = await day_usage(container.uow(), department, chosen)
    return _render(
        request,
        principal,
        "funding/days.html",
        title=_title(request, "Usage per day and service"),
        labels=meter_labels(translations_for(negotiate_locale(request)).gettext),
        statement=statement,
        rows=rows,
        money=format_minor,
    )
