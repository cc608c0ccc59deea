"""Asking for a review of a refusal (ADR 0059): the form, its errors beside the fields (the
typed reason kept), and the optional supporting document through the documents module's
upload checks."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from civicloom.applications import (
    REASON_MAX,
    ApplicantReview,
    applicant_review,
    request_review,
)
from civicloom.documents import (
    REVIEW_EVIDENCE_TYPE,
    DocumentsRuntimeDep,
    discard_review_document,
    upload_document,
)
from civicloom.kernel import Conflict, PathId, text_problem
from civicloom.portal.pages.common import OWN_OBJECT_PAGE, page, store_upload
from civicloom.portal.pages.status import refusal_reason
from civicloom.portal.queries import application_page, check_owner
from civicloom.portal.services import check_acting_for
from civicloom.web import (
    ContainerDep,
    CurrentPrincipal,
    GatewayDep,
    large_body,
    negotiate_locale,
    page_gettext,
    see_other,
)

reviews_router = APIRouter(include_in_schema=False)


def may_ask(review: ApplicantReview) -> bool:
    """Whether the page offers "Ask for a review": refused, in the window, not yet asked."""
    return review.window is not None and review.window.open and review.review is None


async def _form(
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    application_id: str,
    status_code: int = 200,
    **context: object,
) -> HTMLResponse:
    view = await application_page(container.uow, container.clock, principal, application_id)
    review = await applicant_review(container.uow(), container.clock, principal, application_id)
    return page(
        request,
        "portal/review.html",
        principal,
        status_code=status_code,
        app=view.status.application,
        refusal=refusal_reason(view, negotiate_locale(request)),
        view=view,
        review=review,
        may_ask=may_ask(review),
        reason_max=REASON_MAX,
        **context,
    )


@reviews_router.get("/applications/{application_id}/review", dependencies=[OWN_OBJECT_PAGE])
async def review_form(
    application_id: PathId, request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """The form to ask for a review (or why it is not offered: not refused, window closed)."""
    return await _form(request, container, principal, application_id)


@reviews_router.post(
    "/applications/{application_id}/review", dependencies=[OWN_OBJECT_PAGE, large_body()]
)
async def ask_for_review(
    documents: DocumentsRuntimeDep,
    application_id: PathId,
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    gateway: GatewayDep,
) -> Response:
    """Ask for a review: the reason is checked first, then whether a review may be asked for,
    then the document (so a refused request stores no file), then the request itself."""
    _ = page_gettext(request)
    await check_owner(container.uow(), principal, application_id)
    await check_acting_for(container.uow, gateway, container.clock, principal, application_id)
    form = await request.form(max_files=1, max_fields=5)
    text = str(form.get("reason") or "")
    file = form.get("document")
    errors: dict[str, str] = {}
    if not text.strip():
        errors["reason"] = _("Enter why the decision should be looked at again")
    elif len(text) > REASON_MAX:
        errors["reason"] = _("Your reason must be %(max)s characters or fewer", max=REASON_MAX)
    elif text_problem(text) is not None:
        errors["reason"] = _("Your reason must not contain control or hidden formatting characters")
    review = await applicant_review(container.uow(), container.clock, principal, application_id)
    if not errors and not may_ask(review):
        if isinstance(file, UploadFile):
            await file.close()
        return see_other(f"/applications/{application_id}/review")  # the page says why
    document_id = None
    has_file = isinstance(file, UploadFile) and bool(file.filename)
    if not errors and isinstance(file, UploadFile) and has_file:
        ref, error = await store_upload(
            file,
            lambda upload: upload_document(
                container.uow(),
                documents,
                container.clock,
                principal,
                application_id,
                REVIEW_EVIDENCE_TYPE,
                upload,
                for_review=True,
            ),
            _,
        )
        if error is not None:
            errors["document"] = error
        elif ref is not None:
            document_id = ref.id
    if isinstance(file, UploadFile):
        await file.close()
    if errors:
        return await _form(
            request,
            container,
            principal,
            application_id,
            status_code=400,
            errors=errors,
            error_summary=[{"text": m, "href": f"#{k}"} for k, m in errors.items()],
            typed_reason=text,  # kept: the applicant corrects it, not retypes it
        )
    try:
        await request_review(
            container.uow(), container.clock, principal, application_id, text, document_id
        )
    except Conflict:  # a second click, or the window closed meanwhile: the page says which
        if document_id is not None:  # and the file sent with it is not kept (attack review)
            await discard_review_document(
                container.uow(), documents, container.clock, principal, application_id, document_id
            )
        return see_other(f"/applications/{application_id}/review")
    return see_other(f"/applications/{application_id}?review=asked")
