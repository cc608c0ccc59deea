"""Case search and the one case view for staff (ADR 0063)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from civicloom.backoffice.cases import (
    QUERY_MAX_CHARS,
    QUERY_MIN_CHARS,
    read_case,
    search_staff_cases,
)
from civicloom.backoffice.pages.common import page
from civicloom.backoffice.pages.officer import outcome_lines
from civicloom.kernel import PathId, ValidationFailed
from civicloom.rules import RULE_BOOK
from civicloom.web import (
    ContainerDep,
    CurrentPrincipal,
    error_list,
    negotiate_locale,
    page_gettext,
    page_roles,
)

cases_router = APIRouter(include_in_schema=False)
# Officers and supervisors see their department's cases, auditors every case (ADR 0063). The
# case view restricts each application to the departments with a step on it and answers 403
# (not the usual 404 of owner-scoped routes: the brief's choice; ids are unguessable UUIDs).
CASE_SEARCH = page_roles("officer", "supervisor", "auditor")
CASE_VIEW = page_roles("officer", "supervisor", "auditor", owner_scoped=True)


def _messages(request: Request) -> dict[str, str]:
    _ = page_gettext(request)
    return {
        "required": _("Enter a reference, business name, registration number or applicant name"),
        "min-length": _("Enter at least %(num)d characters", num=QUERY_MIN_CHARS),
        "max-length": _("Enter %(num)d characters or fewer", num=QUERY_MAX_CHARS),
        "cursor": _("This page link is not valid. Search again"),
        "text": _("Enter the text on one line"),
    }


@cases_router.get("/backoffice/cases", dependencies=[CASE_SEARCH])
async def find_cases(
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    q: Annotated[str | None, Query(max_length=1000)] = None,
    after: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """Find an application by reference, business name, registration number or applicant."""
    if q is None:
        return page(request, "backoffice/cases.html", principal, q="", result=None, errors={})
    try:
        result = await search_staff_cases(container.uow, container.clock, principal, q, after)
    except ValidationFailed as failed:
        messages = _messages(request)
        rule = failed.errors[0].rule
        # the search box carries every message (a bad page link too: its fix is a new search)
        errors = {"q": messages.get(rule, messages["text"])}
        return page(
            request,
            "backoffice/cases.html",
            principal,
            status_code=422,
            q=q[: QUERY_MAX_CHARS * 2],
            result=None,
            errors=errors,
            error_summary=error_list(errors),
        )
    return page(
        request, "backoffice/cases.html", principal, q=result.text, result=result, errors={}
    )


def _instant(iso: str) -> datetime | None:
    """An instant the engine recorded as ISO text (questions, answers), for the date filter."""
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        return None


@cases_router.get("/backoffice/cases/{application_id}", dependencies=[CASE_VIEW])
async def case_view(
    application_id: PathId, request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """One application across departments: every step's outcome in blueprint order."""
    view = await read_case(container.uow, container.clock, principal, application_id)
    gettext = page_gettext(request)
    locale = negotiate_locale(request)
    rules = container.get(RULE_BOOK)
    decisions = [d for s in view.steps for d in s.decisions] + ([view.fees] if view.fees else [])
    return page(
        request,
        "backoffice/case.html",
        principal,
        view=view,
        outcomes={d.id: outcome_lines(rules, d, locale, gettext) for d in decisions},
        when=_instant,
        department_name=lambda d: (
            view.departments[d].get(locale) if d in view.departments else gettext("The platform")
        ),
    )
