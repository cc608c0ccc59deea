"""The public licence check: by number (the page a licence's QR code opens) or by PDF.

Anyone may check a licence (an inspector at the door, a landlord, a supplier), signed in or
not; the answer says whether the document is genuine and in force, in the reader's language,
without JavaScript. A PDF is read only to find the signed token inside it; nothing is stored.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from civicloom.departments import department_names
from civicloom.documents.api import DocumentsRuntimeDep
from civicloom.documents.domain import LicenceStatus
from civicloom.documents.licences import verify_licence, verify_token
from civicloom.documents.pdf import extract_token
from civicloom.documents.schemas import VerificationOut
from civicloom.kernel import NotFound, PathId
from civicloom.web import (
    ContainerDep,
    OptionalPrincipal,
    Templates,
    large_body,
    page_gettext,
    public_route,
    render_page,
    see_other,
)

documents_pages_router = APIRouter(include_in_schema=False)
templates = Templates([Path(__file__).parent / "templates"])

LICENCE_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_PDF_BYTES = 5 * 1024 * 1024
"""A licence PDF is tens of kilobytes; anything far larger is not one of ours."""


def _verdicts(request: Request) -> dict[str, tuple[str, str, str]]:
    """Per status: heading, what it means for the reader, and the tag colour."""
    _ = page_gettext(request)
    return {
        LicenceStatus.VALID.value: (
            _("This licence is valid"),
            _("It was issued by the department named below and is in force today."),
            "green",
        ),
        LicenceStatus.EXPIRED.value: (
            _("This licence has expired"),
            _("It was genuine, but its period of validity has ended."),
            "grey",
        ),
        LicenceStatus.NOT_YET_VALID.value: (
            _("This licence is not yet in force"),
            _("It is genuine, but its period of validity has not started."),
            "yellow",
        ),
        LicenceStatus.REVOKED.value: (
            _("This licence has been revoked"),
            _("The issuing department withdrew it: the holder may no longer rely on it."),
            "red",
        ),
        LicenceStatus.FORGED.value: (
            _("This licence is not genuine"),
            _("Its signature does not match a licence we issued. Treat the document as forged."),
            "red",
        ),
    }


async def _result_page(
    request: Request,
    container: ContainerDep,
    principal: OptionalPrincipal,
    result: VerificationOut | None,
    checked: str,
) -> HTMLResponse:
    _ = page_gettext(request)
    departments: dict[str, Any] = {}
    if result is not None and result.issuing_department:
        async with container.uow() as uow:
            departments = dict(await department_names(uow.session))
    if result is None:
        heading = _("No licence with this number was issued")
        meaning = _("Check the number. If it is right, treat the document as forged.")
        colour, status_code = "red", 404
    else:
        heading, meaning, colour = _verdicts(request)[result.status]
        status_code = 200
    facts = result is not None and result.status != LicenceStatus.FORGED.value
    return render_page(
        templates,
        request,
        "documents/verification.html",
        principal,
        [],
        status_code=status_code,
        result=result if facts else None,
        status=result.status if result else "unknown",
        heading=heading,
        meaning=meaning,
        colour=colour,
        checked=checked,
        department=departments.get(result.issuing_department or "") if result else None,
    )


@documents_pages_router.get("/verify/{licence_id}", dependencies=[public_route()])
async def verification_page(
    documents: DocumentsRuntimeDep,
    licence_id: PathId,
    request: Request,
    container: ContainerDep,
    principal: OptionalPrincipal,
) -> HTMLResponse:
    """The public page the licence's QR code opens."""
    try:
        found: VerificationOut | None = VerificationOut.of(
            await verify_licence(container.uow(), documents, container.clock.now(), licence_id)
        )
    except NotFound:
        found = None
    return await _result_page(request, container, principal, found, licence_id)


def _check_form(
    request: Request,
    principal: OptionalPrincipal,
    errors: dict[str, str],
    number: str = "",
) -> HTMLResponse:
    anchors = {"number": "#number", "licence_pdf": "#licence_pdf"}
    return render_page(
        templates,
        request,
        "documents/check.html",
        principal,
        [],
        status_code=400 if errors else 200,
        errors=errors,
        number=number,
        error_summary=[{"text": m, "href": anchors[f]} for f, m in errors.items()] or None,
    )


@documents_pages_router.get("/licences/check", dependencies=[public_route()])
async def check_page(request: Request, principal: OptionalPrincipal) -> Response:
    """Check a licence by its number (a GET form: the result can be bookmarked) or by its PDF."""
    _ = page_gettext(request)
    if "number" not in request.query_params:
        return _check_form(request, principal, {})
    number = request.query_params["number"].strip()
    if not number:
        return _check_form(request, principal, {"number": _("Enter the licence number")})
    if not LICENCE_NUMBER.fullmatch(number):
        error = _("Enter the licence number as it is printed, for example LIC-2026-4F7A9C21")
        return _check_form(request, principal, {"number": error}, number)
    return see_other(f"/verify/{number}")


@documents_pages_router.post(
    "/licences/check", dependencies=[public_route(rate_limit="licence-check"), large_body()]
)
async def check_pdf(
    documents: DocumentsRuntimeDep,
    request: Request,
    container: ContainerDep,
    principal: OptionalPrincipal,
) -> HTMLResponse:
    """Check an uploaded licence PDF: the signed token inside it decides, not its looks."""
    _ = page_gettext(request)
    form = await request.form(max_files=1, max_fields=3)
    upload = form.get("licence_pdf")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _check_form(request, principal, {"licence_pdf": _("Select the licence PDF")})
    try:
        data = await upload.read(MAX_PDF_BYTES + 1)
    finally:
        await upload.close()
    if len(data) > MAX_PDF_BYTES:
        error = _("The file must be smaller than %(size)s MB", size=5)
        return _check_form(request, principal, {"licence_pdf": error})
    if not data.startswith(b"%PDF-"):
        return _check_form(request, principal, {"licence_pdf": _("The file must be a PDF")})
    token = extract_token(data)
    if token is None:
        error = _("This PDF is not a licence issued through this service: it holds no signature")
        return _check_form(request, principal, {"licence_pdf": error})
    result = VerificationOut.of(
        await verify_token(container.uow(), documents, container.clock.now(), token)
    )
    return await _result_page(request, container, principal, result, result.licence_id or "")
