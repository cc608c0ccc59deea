"""Documents: safe uploads, storage (local or S3), retention, signed licences and verification."""

from civicloom.documents.api import DocumentsRuntimeDep, documents_router
from civicloom.documents.domain import (
    REVIEW_EVIDENCE_TYPE,
    DocumentRef,
    DocumentTypeRule,
    FileTooLarge,
    IssuedLicence,
    LicenceRef,
    LicenceStatus,
    LicenceVerification,
    Validity,
    rules_from_blueprint,
    sanitise_filename,
)
from civicloom.documents.inspection import inspect_file
from civicloom.documents.issuing import licence_step_handler
from civicloom.documents.licences import (
    issue_licence,
    revoke_licence,
    verify_licence,
    verify_token,
    verify_token_offline,
)
from civicloom.documents.pages import documents_pages_router
from civicloom.documents.pdf import extract_token
from civicloom.documents.ports import DocumentStore
from civicloom.documents.queries import (
    application_documents,
    latest_licence,
    licences_issued,
    open_document,
    stored_documents,
    uploads_per_application,
)
from civicloom.documents.register import (
    LicenceQuery,
    LicenceRecord,
    licence_exists,
    revoke_licence_as_client,
    search_licence_register,
)
from civicloom.documents.retention import PurgedDocument, purge_expired_documents
from civicloom.documents.runtime import DOCUMENTS_RUNTIME, DocumentsRuntime, build_documents_runtime
from civicloom.documents.services import (
    Upload,
    data_use_of_citizen,
    discard_review_document,
    list_documents,
    receive_upload,
    store_document,
    upload_document,
)

__all__ = [
    "DOCUMENTS_RUNTIME",
    "REVIEW_EVIDENCE_TYPE",
    "DocumentRef",
    "DocumentStore",
    "DocumentTypeRule",
    "DocumentsRuntime",
    "DocumentsRuntimeDep",
    "FileTooLarge",
    "IssuedLicence",
    "LicenceQuery",
    "LicenceRecord",
    "LicenceRef",
    "LicenceStatus",
    "LicenceVerification",
    "PurgedDocument",
    "Upload",
    "Validity",
    "application_documents",
    "build_documents_runtime",
    "data_use_of_citizen",
    "discard_review_document",
    "documents_pages_router",
    "documents_router",
    "extract_token",
    "inspect_file",
    "issue_licence",
    "latest_licence",
    "licence_exists",
    "licence_step_handler",
    "licences_issued",
    "list_documents",
    "open_document",
    "purge_expired_documents",
    "receive_upload",
    "revoke_licence",
    "revoke_licence_as_client",
    "rules_from_blueprint",
    "sanitise_filename",
    "search_licence_register",
    "store_document",
    "stored_documents",
    "upload_document",
    "uploads_per_application",
    "verify_licence",
    "verify_token",
    "verify_token_offline",
]
