"""The assisted channel's pages (ADR 0044): a counter officer applies for someone who is there
in person (identity check, signed declaration, the service's own form), prints the receipt;
the citizen later takes the application over online with the receipt's claim code."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from civicloom.catalogue import Blueprint, list_current_blueprints, validate_form_data
from civicloom.documents import (
    DocumentsRuntime,
    DocumentsRuntimeDep,
    list_documents,
    rules_from_blueprint,
    upload_document,
)
from civicloom.kernel import FieldError, NotFound, PathId, ValidationFailed, new_id
from civicloom.portal.counter import (
    BUSINESS_FIELD,
    COUNTER_ROLE,
    CounterUploadTarget,
    IdentityCheck,
    TakenOver,
    apply_at_counter,
    counter_applications,
    counter_receipt,
    counter_service,
    counter_upload_target,
    identity_problems,
    is_business_form,
    reissue_claim_code,
    take_over,
)
from civicloom.portal.forms import FormPage, form_pages, page_errors, parse_page
from civicloom.portal.pages.common import APPLICANT_PAGE, page, upload_from_form
from civicloom.portal.receipt import render_receipt_pdf
from civicloom.web import (
    ContainerDep,
    CurrentPrincipal,
    GatewayDep,
    error_list,
    large_body,
    negotiate_locale,
    page_gettext,
    page_roles,
    see_other,
)

counter_router = APIRouter(include_in_schema=False)
COUNTER_PAGE = page_roles(COUNTER_ROLE)
_COUNTER_ID = re.compile(r"^[0-9a-f-]{36}$")
IDENTITY_FIELDS = ("id_name", "id_document_type", "id_document_number", "id_personal_number")


def document_labels(_: Any) -> dict[str, str]:
    """The identity documents an officer may check, as people read them."""
    return {
        "national-id-card": _("National identity card"),
        "passport": _("Passport"),
        "residence-permit": _("Residence permit"),
        "driving-licence": _("Driving licence"),
    }


def _identity_messages(_: Any) -> dict[tuple[str, str], str]:
    return {
        ("identity.name", "required"): _("Enter the name as it is written on the document"),
        ("identity.name", "name"): _("Enter the name as it is written on the document"),
        ("identity.document_type", "required"): _("Select the identity document you checked"),
        ("identity.document_number", "required"): _("Enter the number of the document"),
        ("identity.document_number", "document-number"): _(
            "The document number must be 4 to 30 letters, digits, spaces or hyphens"
        ),
        ("identity.personal_number", "required"): _(
            "Enter the personal number on the document: the business register is asked "
            "whether it names this person"
        ),
        ("identity.personal_number", "personal-number"): _(
            "The personal number must be letters, digits or hyphens"
        ),
        ("identity.declaration", "declaration"): _(
            "Confirm that the applicant signed the printed declaration in front of you"
        ),
    }


_FORM_NAME = {
    "identity.name": "id_name",
    "identity.document_type": "id_document_type",
    "identity.document_number": "id_document_number",
    "identity.personal_number": "id_personal_number",
    "identity.declaration": "id_declaration",
}


async def _form_view(
    request: Request,
    principal: Any,
    blueprint: Blueprint,
    counter_id: str,
    values: dict[str, Any],
    raw: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    _ = page_gettext(request)
    pages = form_pages(blueprint, negotiate_locale(request))
    anchors = {f.name: f.input_id for p in pages for f in p.fields}
    anchors["id_document_type"] = "id_document_type"
    return page(
        request,
        "portal/counter/apply.html",
        principal,
        status_code=status,
        service=blueprint,
        pages=pages,
        business=is_business_form(blueprint),
        counter_id=counter_id,
        values=values,
        raw=raw,
        errors=errors,
        error_summary=error_list(errors, anchors) if errors else None,
        documents=document_labels(_),
    )


@counter_router.get("/counter", dependencies=[COUNTER_PAGE])
async def counter_home(
    request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """The services an officer can apply for at the counter."""
    async with container.uow() as uow:
        published = await list_current_blueprints(uow.session)
    return page(
        request,
        "portal/counter/home.html",
        principal,
        services=[p.blueprint for p in published],
    )


@counter_router.get("/counter/services/{service_id}", dependencies=[COUNTER_PAGE])
async def counter_form(
    service_id: PathId, request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """The identity check, the signed declaration and the service's form, on one page."""
    try:
        blueprint = await counter_service(container.uow(), service_id)
    except NotFound:
        return page(request, "portal/not_found.html", principal, status_code=404)
    return await _form_view(request, principal, blueprint, new_id(), {}, {}, {})


def _parse_service_form(
    pages: list[FormPage], form: dict[str, Any], _: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for form_page in pages:
        got, wrong = parse_page(form_page, form, _)
        answers.update(got)
        errors.update(wrong)
    return answers, errors


@counter_router.post("/counter/services/{service_id}", dependencies=[COUNTER_PAGE])
async def counter_apply(
    service_id: PathId,
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    gateway: GatewayDep,
) -> Response:
    """Check everything, then submit once; the receipt page shows the claim code once."""
    _ = page_gettext(request)
    try:
        blueprint = await counter_service(container.uow(), service_id)
    except NotFound:
        return page(request, "portal/not_found.html", principal, status_code=404)
    form = await request.form()
    multi = _multi(blueprint)
    raw: dict[str, Any] = {k: form.getlist(k) if k in multi else form.get(k) for k in form}
    counter_id = str(form.get("counter_id") or "")
    if not _COUNTER_ID.match(counter_id):
        counter_id = new_id()
    pages = form_pages(blueprint, negotiate_locale(request))
    answers, errors = _parse_service_form(pages, raw, _)
    data = {k: v for k, v in answers.items() if v is not None}
    try:
        validate_form_data(blueprint, data, today=container.clock.now().date())
    except ValidationFailed as failed:
        for form_page in pages:
            errors = {**page_errors(form_page, failed.errors, _, include_required=True), **errors}
    check = IdentityCheck(
        name=str(form.get("id_name") or ""),
        document_type=str(form.get("id_document_type") or ""),
        document_number=str(form.get("id_document_number") or ""),
        personal_number=str(form.get("id_personal_number") or ""),
        declaration_signed=form.get("id_declaration") == "signed",
    )
    if errors:  # the identity check is judged too, so every problem shows at once
        business = is_business_form(blueprint) and data.get(BUSINESS_FIELD) is not None
        errors = {**_identity_errors(identity_problems(check, business), _), **errors}
        return await _form_view(
            request, principal, blueprint, counter_id, data, raw, errors, status=400
        )
    try:
        receipt = await apply_at_counter(
            container.uow, container.clock, gateway, principal, counter_id, service_id, data, check
        )
    except TakenOver:
        return page(request, "portal/counter/taken_over.html", principal, status_code=409)
    except NotFound:
        return page(request, "portal/not_found.html", principal, status_code=404)
    except ValidationFailed as failed:
        found = _identity_errors(failed.errors, _)
        for form_page in pages:
            found.update(page_errors(form_page, failed.errors, _, include_required=True))
        if any(e.rule == "may-act-for" for e in failed.errors):  # said of the person, not "you"
            found[BUSINESS_FIELD] = _(
                "The business register does not name this person as a director or authorised "
                "signatory of this business, and no director has given them a mandate for "
                "this service"
            )
        if not found:
            raise
        return await _form_view(
            request, principal, blueprint, counter_id, data, raw, found, status=400
        )
    if receipt.claim_code is not None:  # not for a second post of the same form
        container.metrics.applications_submitted.labels(receipt.service_id).inc()
    return page(
        request,
        "portal/counter/receipt.html",
        principal,
        receipt=receipt,
        documents=document_labels(_),
    )


def _multi(blueprint: Blueprint) -> set[str]:
    properties = blueprint.form.json_schema.get("properties", {})
    return {name for name, prop in properties.items() if prop.get("type") == "array"}


def _identity_errors(errors: list[FieldError], _: Any) -> dict[str, str]:
    messages = _identity_messages(_)
    return {
        _FORM_NAME[e.field]: messages.get((e.field, e.rule), e.message)
        for e in errors
        if e.field in _FORM_NAME
    }


@counter_router.post("/counter/receipts/{counter_id}/receipt.pdf", dependencies=[COUNTER_PAGE])
async def counter_receipt_pdf(
    counter_id: PathId, request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """The printed receipt, for the officer who holds the code just issued (never stored)."""
    _ = page_gettext(request)
    form = await request.form(max_files=0, max_fields=5)
    receipt = await counter_receipt(
        container.uow(), principal, counter_id, str(form.get("code") or "")
    )
    locale = negotiate_locale(request)
    pdf = render_receipt_pdf(
        receipt,
        _,
        locale=locale,
        claim_url=f"{container.settings.effective_public_url.rstrip('/')}/claim",
        document_label=document_labels(_).get(receipt.document_type, receipt.document_type),
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="receipt-{receipt.reference}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@counter_router.get("/counter/applications", dependencies=[COUNTER_PAGE])
async def counter_list(
    request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """The department's counter applications: who has taken theirs over, whose code expires."""
    _ = page_gettext(request)
    return page(
        request,
        "portal/counter/applications.html",
        principal,
        entries=await counter_applications(container.uow(), principal),
        documents=document_labels(_),
        now=container.clock.now(),
    )


async def _reissue_view(
    request: Request, principal: Any, counter_id: str, raw: dict[str, str], errors: dict[str, str]
) -> HTMLResponse:
    _ = page_gettext(request)
    return page(
        request,
        "portal/counter/reissue.html",
        principal,
        status_code=400 if errors else 200,
        counter_id=counter_id,
        raw=raw,
        errors=errors,
        error_summary=error_list(errors) if errors else None,
        documents=document_labels(_),
    )


@counter_router.get("/counter/applications/{counter_id}/code", dependencies=[COUNTER_PAGE])
async def reissue_form(
    counter_id: PathId, request: Request, principal: CurrentPrincipal
) -> HTMLResponse:
    """A lost receipt: check the same document again to issue a new code."""
    return await _reissue_view(request, principal, counter_id, {}, {})


@counter_router.post(
    "/counter/applications/{counter_id}/code",
    dependencies=[page_roles(COUNTER_ROLE, rate_limit="counter-reissue")],
)
async def reissue(
    counter_id: PathId, request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Issue a new claim code (the old one stops working); the receipt page shows it once."""
    _ = page_gettext(request)
    form = await request.form(max_files=0, max_fields=5)
    raw = {k: str(form.get(k) or "") for k in ("id_document_type", "id_document_number")}
    try:
        receipt = await reissue_claim_code(
            container.uow,
            container.clock,
            principal,
            counter_id,
            raw["id_document_type"],
            raw["id_document_number"],
        )
    except ValidationFailed as failed:
        errors = _identity_errors(failed.errors, _)
        if any(e.rule == "same-document" for e in failed.errors):
            errors["id_document_number"] = _(
                "This is not the document that was checked when the application was made"
            )
        if any(e.rule == "taken-over" for e in failed.errors):
            errors["id_document_number"] = _(
                "The applicant has already taken this application over: no new code is needed"
            )
        return await _reissue_view(request, principal, counter_id, raw, errors)
    return page(
        request,
        "portal/counter/receipt.html",
        principal,
        receipt=receipt,
        documents=document_labels(_),
    )


@counter_router.get("/claim", dependencies=[APPLICANT_PAGE])
async def claim_page(request: Request, principal: CurrentPrincipal) -> HTMLResponse:
    """Enter the code from a counter receipt to make that application yours."""
    return page(request, "portal/counter/claim.html", principal, errors={}, code="")


@counter_router.post("/claim", dependencies=[APPLICANT_PAGE])
async def claim(request: Request, container: ContainerDep, principal: CurrentPrincipal) -> Response:
    """Take the application over (once); any refusal says the same and changes nothing."""
    _ = page_gettext(request)
    form = await request.form(max_files=0, max_fields=5)
    code = str(form.get("code") or "")[:64]
    try:
        application_id, _reference = await take_over(
            container.uow, container.clock, principal, code
        )
    except ValidationFailed:
        message = (
            _("Enter the claim code printed on your counter receipt")
            if not code.strip()
            else _(
                "This code cannot be used. Check it against your receipt, or ask at the "
                "counter for help"
            )
        )
        errors = {"code": message}
        return page(
            request,
            "portal/counter/claim.html",
            principal,
            status_code=400,
            errors=errors,
            error_summary=error_list(errors),
            code=code,
        )
    return see_other(f"/applications/{application_id}?taken_over=1")


# --- the paper documents the person brought (issue 17; ADR 0044 amended) -----------------------


async def _documents_view(
    request: Request,
    container: ContainerDep,
    runtime: DocumentsRuntime,
    principal: Any,
    target: CounterUploadTarget,
    errors: dict[str, str] | None = None,
    error_document_type: str = "",
) -> HTMLResponse:
    specs = target.blueprint.document_sections()
    held = await list_documents(container.uow(), target.applicant, target.application_id)
    return page(
        request,
        "portal/counter/documents.html",
        principal,
        status_code=400 if errors else 200,
        target=target,
        document_specs=specs,
        rules=rules_from_blueprint(specs, runtime.max_bytes, runtime.retention_days),
        held=held,
        uploaded=request.query_params.get("uploaded", ""),
        errors=errors or {},
        error_document_type=error_document_type,
        error_summary=(
            [{"text": errors["file"], "href": f"#file-{error_document_type or 'upload'}"}]
            if errors
            else None
        ),
    )


async def _target_or_page(
    request: Request, container: ContainerDep, principal: Any, counter_id: str
) -> CounterUploadTarget | HTMLResponse:
    try:
        return await counter_upload_target(container.uow(), principal, counter_id)
    except TakenOver:
        return page(request, "portal/counter/taken_over.html", principal, status_code=409)
    except NotFound:
        return page(request, "portal/not_found.html", principal, status_code=404)


@counter_router.get("/counter/applications/{counter_id}/documents", dependencies=[COUNTER_PAGE])
async def counter_documents(
    counter_id: PathId,
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    documents: DocumentsRuntimeDep,
) -> HTMLResponse:
    """The documents the service asks for, and those already handed in, for one counter
    application of the officer's department that the person has not yet taken over."""
    target = await _target_or_page(request, container, principal, counter_id)
    if isinstance(target, HTMLResponse):
        return target
    return await _documents_view(request, container, documents, principal, target)


@counter_router.post(
    "/counter/applications/{counter_id}/documents",
    dependencies=[COUNTER_PAGE, large_body()],
)
async def counter_upload(
    counter_id: PathId,
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    documents: DocumentsRuntimeDep,
) -> Response:
    """Upload one paper document for the person (scanned at the counter), checked by the same
    rules as the portal's upload; a refused file is explained beside the field."""
    _ = page_gettext(request)
    # who and which application first: nothing of the body is read for a refused caller
    target = await _target_or_page(request, container, principal, counter_id)
    if isinstance(target, HTMLResponse):
        return target
    document_type, error = await upload_from_form(
        request,
        lambda kind, upload: upload_document(
            container.uow(),
            documents,
            container.clock,
            target.applicant,
            target.application_id,
            kind,
            upload,
            handed_in_by=principal,
        ),
        _,
    )
    if error:
        return await _documents_view(
            request,
            container,
            documents,
            principal,
            target,
            errors={"file": error},
            error_document_type=document_type,
        )
    return see_other(f"/counter/applications/{counter_id}/documents?uploaded={document_type}")
