"""What every portal page shares: templates, the navigation, the page context, policies (the
helpers every module's pages share are ``civicloom.web.pages``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile

from civicloom.documents import FileTooLarge, Upload
from civicloom.identity import APPLICANT_ROLES
from civicloom.kernel import DomainError, Principal, ValidationFailed
from civicloom.web import Templates, page_gettext, page_roles, render_page

templates = Templates([Path(__file__).resolve().parent.parent / "templates"])

UPLOAD_CHUNK = 64 * 1024
#: statuses of a refused file (too big, wrong type, unreadable, bad field): shown beside the field
REFUSED_FILE = frozenset({400, 413, 415, 422})
T = TypeVar("T")

APPLICANT_PAGE = page_roles(*sorted(APPLICANT_ROLES))
OWN_OBJECT_PAGE = page_roles(*sorted(APPLICANT_ROLES), conceal=True, owner_scoped=True)


def nav(request: Request, principal: Principal | None) -> list[dict[str, Any]]:
    """The service navigation bar."""
    _ = page_gettext(request)
    path = request.url.path
    items = [{"href": "/services", "text": _("Services"), "active": path.startswith("/services")}]
    if principal is not None and "counter-officer" in principal.roles:  # ADR 0044
        active = path.startswith("/counter")
        items.append({"href": "/counter", "text": _("Service counter"), "active": active})
    if principal is not None and APPLICANT_ROLES & principal.roles:
        items += [
            {
                "href": "/applications",
                "text": _("My applications"),
                "active": path.startswith(("/applications", "/drafts")),
            },
            {"href": "/inbox", "text": _("Messages"), "active": path.startswith("/inbox")},
            {"href": "/data-use", "text": _("Who used my data"), "active": path == "/data-use"},
            {"href": "/mandates", "text": _("Business mandates"), "active": path == "/mandates"},
        ]
    return items


def page(
    request: Request,
    name: str,
    principal: Principal | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a portal page with the layout's context filled in."""
    current = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render_page(
        templates,
        request,
        name,
        principal,
        nav(request, principal),
        status_code=status_code,
        sign_in_url=f"/auth/login?audience=citizen&next={current}",
        account_url="/account"
        if principal is not None and APPLICANT_ROLES & principal.roles
        else None,
        **context,
    )


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(UPLOAD_CHUNK):
        yield chunk


#: why a file was refused (the documents module's rule), in words a person reads
_UNSAFE = ("active-content", "polyglot", "zip-bomb", "image-bomb", "path-traversal")


def _megabytes(size: int) -> str:
    mb = size / (1024 * 1024)
    return f"{mb:g} MB" if mb >= 1 else f"{max(1, round(size / 1024))} KB"


def refused_file_message(failed: DomainError, _: Callable[[str], str]) -> str:
    """The message beside an upload field for a refused file, never the module's English."""
    if isinstance(failed, FileTooLarge):
        return _("The selected file must be smaller than %(size)s") % {
            "size": _megabytes(failed.max_bytes)
        }
    rules = [e.rule for e in failed.errors] if isinstance(failed, ValidationFailed) else []
    if "empty" in rules:
        return _("The selected file is empty")
    if "type-not-allowed" in rules or "unsupported-type" in rules:
        return _("The selected file must be one of the kinds of file listed for this document")
    if "truncated" in rules:
        return _("The selected file is damaged or incomplete")
    if any(rule in _UNSAFE for rule in rules):
        return _("The selected file cannot be accepted because it may not be safe to open")
    return _("The selected file could not be accepted")


async def store_upload(
    file: UploadFile, store: Callable[[Upload], Awaitable[T]], _: Callable[[str], str]
) -> tuple[T | None, str | None]:
    """Stream one file of an HTML form into ``store`` (the documents module's upload with its
    checks) and close it. Returns what ``store`` returned, or the message (in the page's
    language) to show beside the field when the file is refused; any other failure
    propagates."""
    try:
        return await store(Upload(file.filename or "", _chunks(file))), None
    except ValidationFailed as failed:
        return None, refused_file_message(failed, _)
    except DomainError as failed:
        if failed.status not in REFUSED_FILE:
            raise
        return None, refused_file_message(failed, _)
    finally:
        await file.close()


async def upload_from_form(
    request: Request,
    store: Callable[[str, Upload], Awaitable[object]],
    _: Callable[[str], str],
) -> tuple[str, str | None]:
    """Read a document upload form (its ``document_type`` and one ``file``) and stream the file
    into ``store(document_type, upload)``. Returns the document type and the message to show
    beside the field, None once stored: the citizen's page and the counter's say the same."""
    form = await request.form(max_files=1, max_fields=5)
    document_type = str(form.get("document_type") or "")
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return document_type, _("Select a file to upload")
    _stored, error = await store_upload(file, lambda upload: store(document_type, upload), _)
    return document_type, error
