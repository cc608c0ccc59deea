"""Reviews of refusals for the refusing department (ADR 0059): the list of reviews waiting, one
review with the applicant's reason and document, and the decision (uphold or overturn)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from civicloom.applications import (
    ReviewDecision,
    ReviewView,
    decide_review,
    department_reviews,
    read_review,
)
from civicloom.backoffice.pages.common import (
    OFFICER_PAGE,
    TASK_PAGE,
    document_response,
    field_errors,
    form_fields,
    page,
)
from civicloom.backoffice.services import read_review_document
from civicloom.catalogue import Blueprint, get_blueprint_version
from civicloom.documents import DocumentsRuntimeDep
from civicloom.identity import read_department_staff
from civicloom.kernel import Conflict, PathId, Principal, ValidationFailed
from civicloom.web import (
    ContainerDep,
    CurrentPrincipal,
    error_list,
    localise,
    negotiate_locale,
    page_gettext,
    see_other,
)

reviews_pages_router = APIRouter(include_in_schema=False)
INLINE_TYPES = ("application/pdf", "image/png", "image/jpeg")


async def _blueprints(container: ContainerDep, versions: set[str]) -> dict[str, Blueprint]:
    found: dict[str, Blueprint] = {}
    async with container.uow() as uow:
        for version_id in versions:
            published = await get_blueprint_version(uow.session, version_id)
            if published is not None:
                found[version_id] = published.blueprint
    return found


def _titles(review: ReviewView, blueprints: dict[str, Blueprint], locale: str) -> dict[str, str]:
    blueprint = blueprints.get(review.blueprint_version_id)
    step = blueprint.step(review.step_id) if blueprint else None
    return {
        "service": localise(blueprint.title, locale) if blueprint else review.service_id,
        "step": localise(step.title, locale) if step and step.title else review.step_id,
    }


@reviews_pages_router.get("/backoffice/reviews", dependencies=[OFFICER_PAGE])
async def reviews(
    request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """Reviews of the department's refusals waiting for a decision, oldest first."""
    waiting = await department_reviews(container.uow(), principal)
    blueprints = await _blueprints(container, {r.blueprint_version_id for r in waiting})
    locale = negotiate_locale(request)
    return page(
        request,
        "backoffice/reviews.html",
        principal,
        reviews=[(r, _titles(r, blueprints, locale)) for r in waiting],
        now=container.clock.now(),
    )


async def _render(
    request: Request,
    container: ContainerDep,
    principal: Principal,
    review_id: str,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    review = await read_review(container.uow(), principal, review_id)
    blueprints = await _blueprints(container, {review.blueprint_version_id})
    staff = await read_department_staff(container.uow(), container.clock, review.department)
    _ = page_gettext(request)
    return page(
        request,
        "backoffice/review.html",
        principal,
        status_code=status_code,
        review=review,
        titles=_titles(review, blueprints, negotiate_locale(request)),
        refused_by=(
            staff[review.refused_by].name
            if review.refused_by in staff
            else (review.refused_by or _("The service's rules"))
        ),
        decided_by=staff[review.decided_by].name if review.decided_by in staff else None,
        own_refusal=review.refused_by == principal.subject,
        now=container.clock.now(),
        errors=errors or {},
        error_summary=error_list(errors) if errors else None,
        values=values or {},
    )


@reviews_pages_router.get("/backoffice/reviews/{review_id}", dependencies=[TASK_PAGE])
async def review(
    review_id: PathId, request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """One review: the refusal, the applicant's reason and document, the decision form."""
    return await _render(request, container, principal, review_id)


@reviews_pages_router.post("/backoffice/reviews/{review_id}", dependencies=[TASK_PAGE])
async def decide(
    review_id: PathId, request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Uphold or overturn, with a reason the applicant reads; errors beside the fields."""
    values = await form_fields(request, "decision", "reason")
    _ = page_gettext(request)
    errors: dict[str, str] = {}
    if values["decision"] not in ("uphold", "overturn"):
        errors["decision"] = _("Select whether the refusal stays or is overturned")
    if not values["reason"].strip():
        errors["reason"] = _("Say why, in words the applicant will read")
    if errors:
        await read_review(container.uow(), principal, review_id)  # another's review: 404 first
        return await _render(request, container, principal, review_id, 422, errors, values)
    try:
        await decide_review(
            container.uow(),
            container.clock,
            principal,
            review_id,
            ReviewDecision(values["decision"]),
            values["reason"],
        )
    except ValidationFailed as failed:
        messages = {
            "required": _("Say why, in words the applicant will read"),
            "max-length": _("Your reason must be 2000 characters or fewer"),
        }
        found = {
            e.field: messages.get(
                e.rule, _("Your reason must not contain control or hidden formatting characters")
            )
            for e in failed.errors
        } or field_errors(failed)
        return await _render(request, container, principal, review_id, 422, found, values)
    except Conflict:
        message = _(
            "This review was already decided, or the application changed meanwhile."
            " Nothing was changed."
        )
        return await _render(
            request, container, principal, review_id, 409, {"decision": message}, values
        )
    return see_other(f"/backoffice/reviews/{review_id}?done={values['decision']}")


@reviews_pages_router.get("/backoffice/reviews/{review_id}/document", dependencies=[TASK_PAGE])
async def review_document(
    review_id: PathId,
    documents: DocumentsRuntimeDep,
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> Response:
    """The applicant's supporting document, for the reviewing department (the read audited)."""
    ref, content = await read_review_document(
        container.uow(), documents, container.clock, principal, review_id
    )
    return document_response(ref, content, INLINE_TYPES)
