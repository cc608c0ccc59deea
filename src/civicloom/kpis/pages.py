"""KPI pages: the back-office dashboard and the public performance page (the dashboard's CSV
export is ``kpis/api.py``)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from civicloom import __version__
from civicloom.catalogue import list_current_blueprints
from civicloom.db import UnitOfWork
from civicloom.departments import department_names
from civicloom.funding import cost_avoided, format_minor, tariffs_of
from civicloom.kernel import NotFound, PathId, ValidationFailed
from civicloom.kpis.api import KPI_ROLES, DateParam, ToParam
from civicloom.kpis.charts import Bar, bar_chart
from civicloom.kpis.domain import DAY, HOUR, KpiReport
from civicloom.kpis.services import (
    Period,
    list_kpi_services,
    parse_period,
)
from civicloom.kpis.snapshots import (
    PENDING_LIMIT,
    RETRY_SECONDS,
    PeriodsBusy,
    report_snapshot,
    staff_snapshot,
)
from civicloom.portal import feedback_report
from civicloom.web import (
    ContainerDep,
    CurrentPrincipal,
    OptionalPrincipal,
    Templates,
    csrf_token,
    localise,
    negotiate_locale,
    page_roles,
    public_route,
    translations_for,
)

templates = Templates([Path(__file__).parent / "templates"])
kpis_pages_router = APIRouter(include_in_schema=False)
ServiceParam = Annotated[str | None, Query(max_length=100, pattern=r"^[a-z][a-z0-9-]{1,60}$")]


def _duration(seconds: float | None, _: Callable[[str], str]) -> str:
    """A chart label that agrees with the bar's length: minutes under an hour."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return _("under a minute")
    if seconds < HOUR:
        return _("%(n)s min") % {"n": round(seconds / 60)}
    return _("%(n)s h") % {"n": f"{seconds / HOUR:.1f}"}


def _pct(share: float | None) -> str:
    return "–" if share is None else f"{share:.0%}"


def _same(text: str) -> str:
    return text


def helpers(_: Callable[[str], str] = _same) -> dict[str, Any]:
    """The templates' number formats, with their units in the page's language."""

    def hours(seconds: float | None) -> str:
        if seconds is None:
            return "–"
        value = seconds / HOUR
        if 0 < value < 0.01:
            return "< " + _("%(n)s h") % {"n": "0.01"}
        return _("%(n)s h") % {"n": f"{value:.2f}" if value < 0.1 else f"{value:.1f}"}

    def days(seconds: float | None) -> str:
        return "–" if seconds is None else _("%(n)s days") % {"n": f"{seconds / DAY:.1f}"}

    return {"hours": hours, "pct": _pct, "days": days}


Namer = Callable[[str], str]
StepNamer = Callable[[str, str], str]


async def namers(uow: UnitOfWork, locale: str, steps: bool = True) -> tuple[Namer, StepNamer]:
    """``department_name(id)`` and ``step_name(service, step)`` in the reader's language (one
    read each): a person reads "地方行政局" and "许可决定", never ``local-admin`` or
    ``licensing_review``; an id nothing names any more is shown as recorded."""
    async with uow:
        names = await department_names(uow.session)
        current = [p.blueprint for p in await list_current_blueprints(uow.session)] if steps else []
    titles = {(b.id, s.id): s.title for b in current for s in b.steps if s.title is not None}

    def department_name(department: str) -> str:
        return names[department].get(locale) if department in names else department

    def step_name(service: str, step: str) -> str:
        title = titles.get((service, step))
        return title.get(locale) if title is not None else step

    return department_name, step_name


def charts(
    report: KpiReport, _: Callable[[str], str] = _same, department_name: Namer = _same
) -> dict[str, Any]:
    """The dashboard's charts (each also shown as a table by the template), in the page's
    language (``_`` is the locale's gettext, ``department_name`` names a department in it)."""
    time_bars = [
        Bar(f"{department_name(d)} p50", dist.p50 or 0.0, _duration(dist.p50, _), 0)
        for d, dist in report.per_department.items()
    ] + [
        Bar(f"{department_name(d)} p90", dist.p90 or 0.0, _duration(dist.p90, _), 1)
        for d, dist in report.per_department.items()
    ]
    sla_bars = [
        Bar(department_name(d), (share or 0.0) * 100, "–" if share is None else f"{share:.0%}", 2)
        for d, share in report.department_sla().items()
    ]
    reuse_bars = [
        Bar(department_name(r.source), float(r.total), str(r.total), 3) for r in report.reuse
    ]
    effort = []
    if report.baseline is not None:
        b, a = report.baseline, report.after
        for label, before, after in (
            (_("forms"), b.applications, a.get("forms")),
            (_("visits"), b.visits, a.get("visits")),
            (_("paper documents"), b.paper_documents, 0.0),
            (_("fields typed"), b.form_fields, a.get("fields_typed")),
            (_("days"), b.average_days, a.get("days_to_licence")),
        ):
            effort.append(Bar(f"{label}: {_('before')}", float(before), f"{before:g}", 1))
            shown = "–" if after is None else _("%(n)s on average") % {"n": f"{after:.1f}"}
            effort.append(Bar(f"{label}: {_('now')}", float(after or 0.0), shown, 0))
    return {
        "time": bar_chart(
            _("Time per department step"),
            _(
                "Median (p50) and 90th percentile (p90) hours from a step starting to "
                "finishing, per department."
            ),
            time_bars,
            scale_at_least=HOUR,
            empty=_("No data"),
        ),
        "sla": bar_chart(
            _("SLA compliance per department"),
            _("Share of steps finished by their SLA due date."),
            sla_bars,
            empty=_("No data"),
        ),
        "reuse": bar_chart(
            _("Fields not asked again, by source department"),
            _("Fields prefilled from registers plus fields typed once and shared."),
            reuse_bars,
            empty=_("No data"),
        ),
        "effort": bar_chart(
            _("Citizen effort before and now"),
            _(
                "The service owner's baseline against the mean per decided application. Forms: "
                "the application plus each answer to an officer's question. Visits: steps that "
                "still need someone on site, such as an inspection. Fields typed: answers not "
                "prefilled from registers. Days: from submission to the licence."
            ),
            effort,
            empty=_("No data"),
        ),
    }


@kpis_pages_router.get("/backoffice/kpis", dependencies=[page_roles(*KPI_ROLES)])
async def dashboard(
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    service: ServiceParam = None,
    start: DateParam = None,
    end: ToParam = None,
) -> Response:
    """The KPI dashboard of one service and period, with charts, tables and CSV export: the
    services and department rows the reader may see (``kpis.domain.kpi_scope``)."""
    services = await list_kpi_services(container.uow(), principal)
    chosen = service or (services[0][0] if services else None)
    locale = negotiate_locale(request)
    _ = translations_for(locale).gettext
    context: dict[str, Any] = {
        "title": _("Service performance"),
        "signed_in_as": principal.display_name,
        "services": services,
        "chosen": chosen,
        "start": start or "",
        "end": end or "",
        **helpers(_),
    }
    try:
        period = parse_period(container.clock, start, end)
    except ValidationFailed as exc:
        errors = [{"text": e.message, "href": f"#{e.field}"} for e in exc.errors]
        return templates.render(
            request, "kpis/dashboard.html", status_code=400, error_summary=errors, **context
        )
    report = None
    scope_department = None
    headers: dict[str, str] = {}
    if chosen is not None:
        try:
            snapshot, scope = await staff_snapshot(
                container.uow(),
                container.clock,
                chosen,
                period,
                principal,
                2 * container.settings.kpi_snapshot_seconds,
            )
        except PeriodsBusy as busy:
            return preparing_page(
                request, principal.display_name, period, chosen, 429, busy.retry_after
            )
        if snapshot is None:  # recorded for the worker (ADR 0082): nothing computed here
            return preparing_page(
                request, principal.display_name, period, chosen, 202, RETRY_SECONDS
            )
        report, scope_department = snapshot.report, scope.department
        etag = page_etag(
            request,
            snapshot.etag,
            principal.display_name,
            locale,
            repr(services),
            request.url.query,
        )
        if etag_matches(request, etag):
            return Response(status_code=304, headers=revalidate_headers(etag))
        headers = revalidate_headers(etag)
    department_name, step_name = await namers(container.uow(), locale, steps=report is not None)
    context.update(
        scope_department=department_name(scope_department) if scope_department else None,
        start=period.start.date().isoformat(),
        end=(period.end - timedelta(days=1)).date().isoformat(),
        report=report,
        charts=charts(report, _, department_name) if report else None,
        service_title=localise(report.title, locale) if report else "",
        department_name=department_name,
        step_name=step_name,
    )
    return templates.render(request, "kpis/dashboard.html", headers=headers, **context)


@kpis_pages_router.get("/performance/{service}", dependencies=[public_route()])
async def performance(
    service: PathId, request: Request, container: ContainerDep, principal: OptionalPrincipal
) -> Response:
    """The public performance page of a service: headline figures over the last 90 days, read
    from the stored report (ADR 0061) and revalidated with its ETag (304 when unchanged)."""
    period: Period = parse_period(container.clock, None, None)
    try:
        snapshot = await report_snapshot(container.uow(), service, period, default_window=True)
    except NotFound:
        return templates.render(
            request,
            "kpis/not_found.html",
            status_code=404,
            title=translations_for(negotiate_locale(request)).gettext("Page not found"),
            signed_in_as=principal.display_name if principal else None,
        )
    if snapshot is None:  # the worker stores the default period; nothing recorded here
        return preparing_page(
            request,
            principal.display_name if principal else None,
            None,
            service,
            503,
            RETRY_SECONDS,
        )
    report = snapshot.report
    avoided = await cost_avoided(container.uow(), container.clock, tariffs_of(container))
    locale = negotiate_locale(request)
    who = principal.display_name if principal else None
    etag = page_etag(request, snapshot.etag, who, locale, repr(avoided))
    if etag_matches(request, etag):
        return Response(status_code=304, headers=revalidate_headers(etag))
    _ = translations_for(locale).gettext
    service_title = localise(report.title, locale)
    department_name, _step_name = await namers(container.uow(), locale, steps=False)
    return templates.render(
        request,
        "kpis/performance.html",
        headers=revalidate_headers(etag),
        title=_("Service performance: %(service)s") % {"service": service_title},
        service_title=service_title,
        report=report,
        last_day=(report.end - timedelta(days=1)),
        avoided=avoided,
        money=format_minor,
        signed_in_as=who,
        department_name=department_name,
        **helpers(_),
    )


def preparing_page(
    request: Request,
    who: str | None,
    period: Period | None,
    service: str,
    status: int,
    retry_after: int,
) -> Response:
    """A period's figures are not stored yet (ADR 0082): a staff period (``period``) was
    recorded for the worker (202) or refused as too many waiting (429); the public page (no
    ``period``) waits for the worker's refresh (503). The page asks again by itself."""
    context: dict[str, Any] = {"busy": status == 429, "limit": PENDING_LIMIT}
    if period is not None:
        context.update(
            first=period.start.date().isoformat(),
            last=(period.end - timedelta(days=1)).date().isoformat(),
            back=f"/backoffice/kpis?service={service}",
        )
    return templates.render(
        request,
        "kpis/preparing.html",
        status_code=status,
        headers={"Retry-After": str(retry_after)},
        title=translations_for(negotiate_locale(request)).gettext("Figures being prepared"),
        refresh=retry_after,
        again=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        signed_in_as=who,
        **context,
    )


def page_etag(request: Request, content: str, who: str | None, *parts: str) -> str:
    """A weak ETag over what a page shows: the stored report's content, the reader's name and
    form token (a signed-in page carries one; a new one is never matched), the other ``parts``
    (language, query) and the platform's version (its templates)."""
    token = csrf_token(request) if who is not None else ""
    key = "|".join([__version__, content, who or "", token, *parts])
    return 'W/"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def etag_matches(request: Request, etag: str) -> bool:
    """Whether the browser's ``If-None-Match`` names this ETag (or ``*``)."""
    header = request.headers.get("if-none-match", "")
    tags = {t.strip() for t in header.split(",") if t.strip()}
    return "*" in tags or etag in tags or etag.removeprefix("W/") in tags


def revalidate_headers(etag: str) -> dict[str, str]:
    """Kept only by the reader's own browser, which asks again each time (a 304 costs one
    read of the stored report)."""
    return {
        "ETag": etag,
        "Cache-Control": "private, no-cache",
        "Vary": "Accept-Language, Cookie",
    }


FEEDBACK_ROLES = ("service-owner", "operator", "platform-owner")
"""Who reads visitors' feedback: the people who change the service (owners, the central team)."""


@kpis_pages_router.get("/backoffice/feedback", dependencies=[page_roles(*FEEDBACK_ROLES)])
async def feedback(
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    start: DateParam = None,
    end: ToParam = None,
) -> HTMLResponse:
    """What visitors said through the Beta banner's link: satisfaction and newest comments."""
    _ = translations_for(negotiate_locale(request)).gettext
    context: dict[str, Any] = {
        "signed_in_as": principal.display_name,
        "start": start or "",
        "end": end or "",
    }
    try:
        period = parse_period(container.clock, start, end)
    except ValidationFailed as exc:
        errors = [{"text": e.message, "href": f"#{e.field}"} for e in exc.errors]
        return templates.render(
            request, "kpis/feedback.html", status_code=400, error_summary=errors, **context
        )
    report = await feedback_report(container.uow(), period.start, period.end)
    labels = {
        "very-satisfied": _("Very satisfied"),
        "satisfied": _("Satisfied"),
        "neither": _("Neither satisfied nor dissatisfied"),
        "dissatisfied": _("Dissatisfied"),
        "very-dissatisfied": _("Very dissatisfied"),
    }
    context.update(
        start=period.start.date().isoformat(),
        end=(period.end - timedelta(days=1)).date().isoformat(),
        report=report,
        satisfaction=_pct(report.satisfaction),
        rows=[(labels[rating], n) for rating, n in report.counts.items()],
        labels=labels,
    )
    return templates.render(request, "kpis/feedback.html", **context)
