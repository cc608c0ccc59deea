"""HTTP: documents of an application, licence PDFs, public verification, JWKS and data use (the
verification page the licence's QR code opens is ``documents/pages.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from civicloom.documents.licences import (
    REVOKER_ROLES,
    licence_pdf,
    revoke_licence,
    verify_licence,
    verify_token,
)
from civicloom.documents.multipart import StreamingForm
from civicloom.documents.runtime import DOCUMENTS_RUNTIME, DocumentsRuntime
from civicloom.documents.schemas import (
    DataUseOut,
    DocumentOut,
    RevocationIn,
    TokenIn,
    VerificationOut,
)
from civicloom.documents.services import (
    Upload,
    check_applicant,
    data_use_of_citizen,
    list_documents,
    read_document,
    upload_document,
)
from civicloom.identity import APPLICANT_ROLES
from civicloom.kernel import FieldError, PathId, PayloadTooLarge, ValidationFailed
from civicloom.web import (
    STILL_ACTING_FOR,
    ContainerDep,
    CurrentPrincipal,
    authenticated,
    component,
    large_body,
    problem_responses,
    public_route,
    require_roles,
)

_MULTIPART_OVERHEAD = 64 * 1024
documents_router = APIRouter(
    tags=["documents"], responses=problem_responses(400, 401, 403, 404, 409, 413, 422)
)
_APPLICANT = require_roles(*sorted(APPLICANT_ROLES), conceal=True, owner_scoped=True)


DocumentsRuntimeDep = Annotated[DocumentsRuntime, Depends(component(DOCUMENTS_RUNTIME))]
"""The process's documents runtime (swap with ``dependency_overrides[component(…)]``)."""


@documents_router.post(
    "/api/v1/applications/{application_id}/documents",
    operation_id="uploadDocument",
    summary="Upload a document to an application",
    status_code=201,
    response_model=DocumentOut,
    dependencies=[_APPLICANT, large_body(), STILL_ACTING_FOR],
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["document_type", "file"],
                        "properties": {
                            "document_type": {"type": "string"},
                            "file": {"type": "string", "format": "binary"},
                        },
                    }
                }
            }
        }
    },
)
async def upload(
    documents: DocumentsRuntimeDep,
    application_id: PathId,
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> DocumentOut:
    """Upload a document (multipart ``document_type`` then ``file``), size-limited as it streams."""
    runtime = documents
    await check_applicant(container.uow(), principal, application_id)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > runtime.max_bytes + _MULTIPART_OVERHEAD:
        raise PayloadTooLarge(f"the body is larger than {runtime.max_bytes} bytes")
    form = StreamingForm(request.headers.get("content-type", ""), request.stream().__aiter__())
    await form.open_file()
    document_type = form.fields.get("document_type") or request.query_params.get("document_type")
    if not document_type:
        raise ValidationFailed(
            [FieldError("document_type", "required", "say which document this is")]
        )
    ref = await upload_document(
        container.uow(),
        runtime,
        container.clock,
        principal,
        application_id,
        document_type,
        Upload(form.filename or "", form.file_chunks()),
    )
    return DocumentOut.of(ref)


@documents_router.get(
    "/api/v1/applications/{application_id}/documents",
    response_model=list[DocumentOut],
    dependencies=[_APPLICANT],
)
async def list_application_documents(
    application_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> list[DocumentOut]:
    """The documents held for one of the caller's applications."""
    refs = await list_documents(container.uow(), principal, application_id)
    return [DocumentOut.of(r) for r in refs]


@documents_router.get(
    "/api/v1/applications/{application_id}/documents/{document_id}",
    operation_id="downloadDocument",
    summary="Download an uploaded document",
    dependencies=[_APPLICANT],
    response_class=Response,
)
async def download_document(
    documents: DocumentsRuntimeDep,
    application_id: PathId,
    document_id: PathId,
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> Response:
    """The document's bytes (always as an attachment, never rendered inline)."""
    ref, content = await read_document(
        container.uow(),
        documents,
        container.clock,
        principal,
        application_id,
        document_id,
    )
    return _attachment(content, ref.media_type, ref.filename)


def _attachment(content: bytes, media_type: str, filename: str) -> Response:
    from urllib.parse import quote

    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@documents_router.get(
    "/api/v1/licences/{licence_id}.pdf",
    operation_id="downloadLicence",
    summary="Download a licence as PDF",
    dependencies=[authenticated()],
    response_class=Response,
)
async def download_licence(
    documents: DocumentsRuntimeDep,
    licence_id: PathId,
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> Response:
    """The licence PDF, for its holder or the issuing department."""
    content = await licence_pdf(container.uow(), documents, principal, licence_id)
    return _attachment(content, "application/pdf", f"licence-{licence_id}.pdf")


@documents_router.get(
    "/api/v1/licences/{licence_id}/verification",
    operation_id="verifyLicence",
    summary="Verify a licence by its id",
    response_model=VerificationOut,
    dependencies=[public_route()],
)
async def licence_verification(
    documents: DocumentsRuntimeDep, licence_id: PathId, request: Request, container: ContainerDep
) -> VerificationOut:
    """Public: is this licence valid, expired, revoked or forged?"""
    result = await verify_licence(container.uow(), documents, container.clock.now(), licence_id)
    return VerificationOut.of(result)


@documents_router.post(
    "/api/v1/licences/verification",
    operation_id="verifyLicenceToken",
    summary="Verify a licence from its QR token",
    response_model=VerificationOut,
    dependencies=[public_route()],
)
async def token_verification(
    documents: DocumentsRuntimeDep, body: TokenIn, request: Request, container: ContainerDep
) -> VerificationOut:
    """Public: verify a licence token (e.g. scanned or copied from a PDF)."""
    result = await verify_token(container.uow(), documents, container.clock.now(), body.token)
    return VerificationOut.of(result)


@documents_router.post(
    "/api/v1/licences/{licence_id}/revocation",
    operation_id="revokeLicence",
    summary="Revoke a licence",
    status_code=204,
    dependencies=[require_roles(*sorted(REVOKER_ROLES))],
)
async def revoke(
    licence_id: PathId, body: RevocationIn, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Revoke a licence (officers and supervisors of the issuing department only)."""
    await revoke_licence(container.uow(), container.clock, principal, licence_id, body.reason)
    return Response(status_code=204)


@documents_router.get(
    "/.well-known/jwks.json",
    operation_id="readSigningKeys",
    summary="Public keys that verify licences and seals",
    dependencies=[public_route()],
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "keys": [
                            {
                                "kty": "OKP",
                                "crv": "Ed25519",
                                "kid": "2026-01",
                                "use": "sig",
                                "alg": "EdDSA",
                                "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                            }
                        ]
                    }
                }
            }
        }
    },
)
async def jwks(documents: DocumentsRuntimeDep, request: Request) -> dict[str, Any]:
    """Public keys that verify licences and audit seals (old keys stay after rotation)."""
    return documents.public_keys().to_jwks()


@documents_router.get(
    "/api/v1/me/data-use",
    operation_id="listDataUse",
    summary="Who used my personal data",
    response_model=list[DataUseOut],
    dependencies=[require_roles(*sorted(APPLICANT_ROLES))],
)
async def data_use(container: ContainerDep, principal: CurrentPrincipal) -> list[DataUseOut]:
    """Who used my data: every read of my personal data, by which department and why."""
    return [DataUseOut.of(u) for u in await data_use_of_citizen(container.uow(), principal)]
