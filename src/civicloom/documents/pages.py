"""The public licence verification page (the page a licence's QR code opens)."""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from civicloom.documents.api import DocumentsRuntimeDep
from civicloom.documents.domain import LicenceStatus
from civicloom.documents.licences import verify_licence
from civicloom.documents.schemas import VerificationOut
from civicloom.kernel import NotFound, PathId
from civicloom.web import ContainerDep, public_route

documents_pages_router = APIRouter(include_in_schema=False)

_VERDICT = {
    LicenceStatus.VALID: "This licence is valid",
    LicenceStatus.EXPIRED: "This licence has expired",
    LicenceStatus.NOT_YET_VALID: "This licence is not yet in force",
    LicenceStatus.REVOKED: "This licence has been revoked",
    LicenceStatus.FORGED: "This licence is not genuine",
}


@documents_pages_router.get(
    "/verify/{licence_id}",
    response_class=HTMLResponse,
    dependencies=[public_route()],
    include_in_schema=False,
)
async def verification_page(
    documents: DocumentsRuntimeDep, licence_id: PathId, request: Request, container: ContainerDep
) -> HTMLResponse:
    """The public page the licence's QR code opens."""
    try:
        result = VerificationOut.of(
            await verify_licence(container.uow(), documents, container.clock.now(), licence_id)
        )
        heading, status = _VERDICT[LicenceStatus(result.status)], 200
    except NotFound:
        result, heading, status = None, "No licence with this number was issued", 404
    rows = ""
    if result is not None and result.status != LicenceStatus.FORGED.value:
        facts = [
            ("Licence number", result.licence_id),
            ("Holder", (result.holder or {}).get("name")),
            ("Activity", result.activity),
            ("Premises", result.premises),
            ("Valid from", result.valid_from.date().isoformat() if result.valid_from else None),
            ("Valid until", result.valid_until.date().isoformat() if result.valid_until else None),
            ("Issued by", result.issuing_department),
        ]
        rows = "".join(
            f"<tr><th scope='row'>{html.escape(k)}</th><td>{html.escape(str(v or '-'))}</td></tr>"
            for k, v in facts
        )
    body = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(heading)} – civicloom licence check</title></head><body><main>"
        f"<h1 data-status='{html.escape(result.status if result else 'unknown')}'>"
        f"{html.escape(heading)}</h1>"
        f"<p>{html.escape(result.reason if result else 'Treat the document as forged.')}</p>"
        f"<table><caption>Licence {html.escape(licence_id)}</caption>{rows}</table>"
        "</main></body></html>"
    )
    return HTMLResponse(body, status_code=status)
