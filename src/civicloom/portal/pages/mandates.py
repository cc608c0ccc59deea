"""Who can act for your business / businesses you act for (ADR 0041): a director delegates
services for a period, the delegate accepts, either revokes; every change audited."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from civicloom.catalogue import list_current_blueprints
from civicloom.kernel import Principal, ValidationFailed
from civicloom.portal.forms import Translate
from civicloom.portal.pages.common import APPLICANT_PAGE, OWN_OBJECT_PAGE, page
from civicloom.registries import (
    GrantMandate,
    accept_mandate,
    grant_mandate,
    mandates_of_person,
    revoke_mandate,
)
from civicloom.web import (
    ContainerDep,
    CurrentPrincipal,
    GatewayDep,
    error_list,
    page_gettext,
    see_other,
)

mandates_router = APIRouter(include_in_schema=False)
FIELD_IDS = {
    "registration_number": "registration_number",
    "delegate": "delegate",
    "services": "services",
    "valid_until": "valid_until-day",
}


def _messages(_: Translate) -> dict[tuple[str, str], str]:
    return {
        ("registration_number", "may-act-for"): _(
            "Only a director the business register names can give a mandate for this business"
        ),
        ("registration_number", "registered-business"): _(
            "There is no business with this number in the business register"
        ),
        ("registration_number", "register-unavailable"): _(
            "We could not check with the business register who may act for this business. "
            "Try again later"
        ),
        ("delegate", "other-person"): _("Enter the user id of another person"),
        ("valid_until", "future"): _("The end date must be in the future"),
    }


async def _services(container: ContainerDep) -> list[tuple[str, Any]]:
    """Services about a business (their form asks for its registration number), with titles."""
    async with container.uow() as uow:
        published = await list_current_blueprints(uow.session)
    return [
        (p.blueprint.id, p.blueprint.title)
        for p in published
        if "business_registration_number" in p.blueprint.form.json_schema.get("properties", {})
    ]


async def _page(
    request: Request,
    container: ContainerDep,
    principal: Principal,
    errors: dict[str, str] | None = None,
    raw: dict[str, str | list[str]] | None = None,
) -> HTMLResponse:
    granted, held = await mandates_of_person(container.uow(), principal)
    return page(
        request,
        "portal/mandates.html",
        principal,
        status_code=400 if errors else 200,
        granted=granted,
        held=held,
        services=await _services(container),
        now=container.clock.now(),
        errors=errors or {},
        raw=raw or {},
        error_summary=error_list(errors, FIELD_IDS) if errors else None,
    )


@mandates_router.get("/mandates", dependencies=[APPLICANT_PAGE])
async def mandates_page(
    request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """Who can act for your business, and the businesses you act for."""
    return await _page(request, container, principal)


def _date(day: str, month: str, year: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


@mandates_router.post("/mandates", dependencies=[APPLICANT_PAGE])
async def grant(
    request: Request, container: ContainerDep, principal: CurrentPrincipal, gateway: GatewayDep
) -> Response:
    """A director gives another person a mandate (the register is asked first)."""
    _ = page_gettext(request)
    form = await request.form()
    raw: dict[str, str | list[str]] = {k: str(form.get(k) or "") for k in form if k != "services"}
    chosen = [str(s) for s in form.getlist("services")]
    raw["services"] = chosen
    errors: dict[str, str] = {}
    number = str(form.get("registration_number") or "").strip()
    delegate = str(form.get("delegate") or "").strip()
    if not number:
        errors["registration_number"] = _("Enter the business registration number")
    if not delegate:
        errors["delegate"] = _("Enter the user id of the person you give the mandate to")
    known = {sid for sid, _title in await _services(container)}
    if not chosen or not set(chosen) <= known:
        errors["services"] = _("Select at least one service")
    until = _date(
        str(form.get("valid_until-day") or ""),
        str(form.get("valid_until-month") or ""),
        str(form.get("valid_until-year") or ""),
    )
    if until is None:
        errors["valid_until"] = _("Enter a real date")
    if errors or until is None:
        return await _page(request, container, principal, errors, raw)
    try:
        await grant_mandate(
            container.uow,
            gateway,
            container.clock,
            principal,
            GrantMandate(
                number, delegate, tuple(chosen), datetime.combine(until, time.max, tzinfo=UTC)
            ),
        )
    except ValidationFailed as failed:
        messages = _messages(_)
        for error in failed.errors:
            name = error.field.removeprefix("data.").replace("business_", "")
            errors[name] = messages.get((name, error.rule), error.message)
        return await _page(request, container, principal, errors, raw)
    return see_other("/mandates?granted=1")


@mandates_router.post("/mandates/{mandate_id}/accept", dependencies=[OWN_OBJECT_PAGE])
async def accept(mandate_id: str, container: ContainerDep, principal: CurrentPrincipal) -> Response:
    """The delegate accepts a mandate given to them (audited)."""
    await accept_mandate(container.uow(), container.clock, principal, mandate_id)
    return see_other("/mandates?accepted=1")


@mandates_router.post("/mandates/{mandate_id}/revoke", dependencies=[OWN_OBJECT_PAGE])
async def revoke(mandate_id: str, container: ContainerDep, principal: CurrentPrincipal) -> Response:
    """The director who gave it or the delegate ends a mandate (audited)."""
    await revoke_mandate(container.uow(), container.clock, principal, mandate_id)
    return see_other("/mandates?revoked=1")
