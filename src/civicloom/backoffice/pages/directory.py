"""The staff directory of one department (ADR 0042): its people with today's roles, and what
the department administrator grants beyond the identity provider (acting up in a role, leave,
delegation of work to a colleague). Every grant and withdrawal is audited by the use case."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from civicloom.backoffice.pages.common import page
from civicloom.identity import (
    GrantKind,
    GrantRequest,
    grant_to_staff,
    read_department_directory,
    revoke_staff_grant,
)
from civicloom.kernel import PathId, Principal, ValidationFailed
from civicloom.web import (
    ContainerDep,
    CurrentPrincipal,
    error_list,
    page_gettext,
    page_roles,
    see_other,
)

directory_router = APIRouter(include_in_schema=False)
DEPARTMENT_ADMIN_PAGE = page_roles("department-admin")
FIELDS = ("kind", "subject", "role", "delegate", "reason")
DATES = ("starts_on", "ends_on")
FIELD_IDS = {
    "kind": "kind",
    "subject": "subject",
    "role": "role",
    "delegate": "delegate",
    "reason": "reason",
    "starts_on": "starts_on-day",
    "ends_on": "ends_on-day",
}


def role_labels(request: Request) -> dict[str, str]:
    """What each role is called on the page (a role a department declares without a label
    here is shown as its id)."""
    _ = page_gettext(request)
    return {
        "officer": _("Officer"),
        "supervisor": _("Supervisor"),
        "service-owner": _("Service owner"),
        "finance-officer": _("Finance officer"),
        "department-admin": _("Department administrator"),
        "licensing-officer": _("Licensing officer"),
        "tax-officer": _("Tax officer"),
        "labour-officer": _("Labour officer"),
        "inspector": _("Inspector"),
        "counter-officer": _("Counter officer"),
        "rule-owner": _("Rule owner"),
        "operator": _("Platform operator"),
        "auditor": _("Auditor"),
        "platform-owner": _("Platform owner"),
        "quality-gate": _("Quality reviewer"),
    }


def _messages(request: Request) -> dict[tuple[str, str], str]:
    _ = page_gettext(request)
    return {
        ("subject", "department-staff"): _("Choose a person of your department"),
        ("subject", "not-yourself"): _("You cannot grant anything to yourself"),
        ("ends_on", "ends-after-start"): _("The end date must be on or after the start date"),
        ("ends_on", "not-in-the-past"): _("The end date must be today or later"),
        ("ends_on", "at-most-a-year"): _("A grant can last at most a year"),
        ("reason", "required"): _("Say why, in at most 500 characters"),
        ("role", "department-role"): _("Choose a role of your department"),
        ("role", "already-held"): _("The person already holds this role"),
        ("delegate", "department-staff"): _("Choose a colleague of your department"),
        ("delegate", "another-person"): _("Choose a colleague other than the person away"),
        ("delegate", "not-yourself"): _("You cannot grant anything to yourself"),
    }


async def _page(
    request: Request,
    container: ContainerDep,
    principal: Principal,
    errors: dict[str, str] | None = None,
    raw: dict[str, str] | None = None,
) -> HTMLResponse:
    directory = await read_department_directory(container.uow(), container.clock, principal)
    names = {m.id: m.name for m in directory.members}
    return page(
        request,
        "backoffice/directory.html",
        principal,
        status_code=400 if errors else 200,
        directory=directory,
        names=names,
        role_labels=role_labels(request),
        today=container.clock.now().date(),
        errors=errors or {},
        raw=raw or {},
        error_summary=error_list(errors, FIELD_IDS) if errors else None,
        done=request.query_params.get("done"),
    )


@directory_router.get("/backoffice/directory", dependencies=[DEPARTMENT_ADMIN_PAGE])
async def directory_page(
    request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """The department's people, their roles today, and the grants in force or to come."""
    return await _page(request, container, principal)


def _date(raw: dict[str, str], name: str) -> date | None:
    try:
        return date(int(raw[f"{name}-year"]), int(raw[f"{name}-month"]), int(raw[f"{name}-day"]))
    except ValueError:
        return None


@directory_router.post("/backoffice/directory/grants", dependencies=[DEPARTMENT_ADMIN_PAGE])
async def grant(request: Request, container: ContainerDep, principal: CurrentPrincipal) -> Response:
    """Grant acting-up, leave or a delegation to a person of the department."""
    _ = page_gettext(request)
    form = await request.form(max_files=0, max_fields=20)
    names = [*FIELDS, *(f"{d}-{part}" for d in DATES for part in ("day", "month", "year"))]
    raw = {name: str(form.get(name) or "").strip() for name in names}
    errors: dict[str, str] = {}
    kind = {k.value: k for k in GrantKind}.get(raw["kind"])
    if kind is None:
        errors["kind"] = _("Choose what to grant")
    if not raw["subject"]:
        errors["subject"] = _("Choose a person of your department")
    dates: dict[str, date] = {}
    for name in DATES:
        found = _date(raw, name)
        if found is None:
            errors[name] = _("Enter a real date")
        else:
            dates[name] = found
    if kind is GrantKind.ACTING_UP and not raw["role"]:
        errors["role"] = _("Choose the role they act up in")
    if kind is GrantKind.DELEGATION and not raw["delegate"]:
        errors["delegate"] = _("Choose the colleague who takes over the work")
    if not raw["reason"]:
        errors["reason"] = _("Say why, in at most 500 characters")
    if errors or kind is None:
        return await _page(request, container, principal, errors, raw)
    request_ = GrantRequest(
        kind=kind,
        subject=raw["subject"],
        starts_on=dates["starts_on"],
        ends_on=dates["ends_on"],
        reason=raw["reason"],
        role=raw["role"] or None,
        delegate=raw["delegate"] or None,
    )
    try:
        await grant_to_staff(container.uow(), container.clock, principal, request_)
    except ValidationFailed as failed:
        messages = _messages(request)
        for error in failed.errors:
            errors[error.field] = messages.get((error.field, error.rule), error.message)
        return await _page(request, container, principal, errors, raw)
    return see_other("/backoffice/directory?done=granted")


@directory_router.post(
    "/backoffice/directory/grants/{grant_id}/revoke", dependencies=[DEPARTMENT_ADMIN_PAGE]
)
async def revoke(
    grant_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Withdraw a grant of the department (404 for another department's)."""
    await revoke_staff_grant(container.uow(), container.clock, principal, grant_id)
    return see_other("/backoffice/directory?done=revoked")
