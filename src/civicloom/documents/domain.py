"""Documents and licences: value objects, blueprint rules, file names and licence assessment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from civicloom.catalogue import Retention
from civicloom.kernel import (
    FieldError,
    PayloadTooLarge,
    TextKind,
    ValidationFailed,
    normalise_text,
)

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ZIP = "application/zip"
DEFAULT_MEDIA_TYPES = frozenset({PDF, PNG, JPEG})
MEDIA_ALIASES = {"pdf": PDF, "png": PNG, "jpeg": JPEG, "jpg": JPEG, "docx": DOCX, "zip": ZIP}
LICENCE_TYPE = "licence"
# A document the applicant adds to a request for a review of a refusal (ADR 0059): any
# service accepts it (PDF, PNG, JPEG, the deployment's size limit), whatever its blueprint
# declares, and only the reviewing department opens it.
REVIEW_EVIDENCE_TYPE = "review-evidence"


class FileTooLarge(PayloadTooLarge):
    """A file larger than its document type allows (a page says the limit in words)."""

    def __init__(self, max_bytes: int, document_type: str) -> None:
        super().__init__(f"the file is larger than {max_bytes} bytes allowed for {document_type!r}")
        self.max_bytes = max_bytes


@dataclass(frozen=True)
class DocumentTypeRule:
    """What a blueprint accepts for one document type: media types, size and retention.

    ``retention`` is the type's declared retention (ADR 0050), counted from the day the
    application closes; without one, the document is kept ``retention_days`` from its upload.
    """

    type: str
    media_types: frozenset[str]
    max_bytes: int
    retention_days: int
    retention: Retention | None = None

    def earliest_purge(self, uploaded_at: datetime) -> datetime:
        """The document's ``retain_until``: with a declared retention the earliest day it may
        go (an application closes at the earliest when the document arrives); the purge
        waits for the closing (``documents.retention``)."""
        if self.retention is not None:
            return self.retention.after(uploaded_at)
        return uploaded_at + timedelta(days=self.retention_days)


def rules_from_blueprint(
    section: Any, default_max_bytes: int, default_retention_days: int
) -> dict[str, DocumentTypeRule]:
    """Read a blueprint's ``documents:`` list, tolerating its absence and partial entries.

    Each item may give ``type`` (or ``id``), ``media_types`` (or ``types``: MIME types or
    short names such as ``pdf``), ``max_bytes`` (or ``max_size_mb``), ``retention_days`` and
    the declared ``retention`` (an ISO 8601 period after the application closes).
    Without a section, any type name is accepted with the defaults (PDF, PNG, JPEG).
    """
    rules: dict[str, DocumentTypeRule] = {}
    for item in section if isinstance(section, list) else []:
        if not isinstance(item, Mapping):
            continue
        name = str(item.get("type") or item.get("id") or "").strip()
        if not name:
            continue
        raw_types = item.get("media_types") or item.get("types") or []
        media = frozenset(MEDIA_ALIASES.get(str(t).lower(), str(t).lower()) for t in raw_types)
        max_bytes = item.get("max_bytes")
        if max_bytes is None and item.get("max_size_mb") is not None:
            max_bytes = int(float(item["max_size_mb"]) * 1024 * 1024)
        declared = item.get("retention")
        rules[name] = DocumentTypeRule(
            type=name,
            media_types=media or DEFAULT_MEDIA_TYPES,
            max_bytes=min(int(max_bytes or default_max_bytes), default_max_bytes),
            retention_days=int(item.get("retention_days") or default_retention_days),
            retention=_retention(declared),
        )
    return rules


def _retention(declared: Any) -> Retention | None:
    """A declared retention period; a stored version's unreadable one counts as undeclared
    (publishing refuses it, ownership.py)."""
    try:
        return Retention.parse(str(declared)) if declared else None
    except ValueError:
        return None


def default_rule(name: str, max_bytes: int, retention_days: int) -> DocumentTypeRule:
    """The rule for a type when the blueprint declares no documents."""
    return DocumentTypeRule(name, DEFAULT_MEDIA_TYPES, max_bytes, retention_days)


_TYPE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,59}$")
_UNSAFE = re.compile(r"[^\w .()+\-]", re.UNICODE)


def check_type_name(name: str) -> str:
    """A document type id such as ``floor-plan``; otherwise a 422 naming the field."""
    if not _TYPE_NAME.fullmatch(name):
        raise ValidationFailed(
            [FieldError("document_type", "pattern", "use lowercase letters, digits and dashes")]
        )
    return name


def sanitise_filename(name: str) -> str:
    """A safe display name; names that try to leave their directory are refused, not fixed."""
    if "\x00" in name or "/" in name or "\\" in name or name.strip() in ("", ".", ".."):
        raise ValidationFailed(
            [
                FieldError(
                    "file",
                    "path-traversal",
                    "the file name must be a plain name without directories or '..'",
                )
            ]
        )
    # Refused, not stripped: ``invoice\u202efdp.exe`` must not become ``invoicefdp.exe``, and a
    # name shown to an officer must be the name the applicant's computer showed.
    clean = normalise_text(name, "file", TextKind.FILE_NAME)
    clean = _UNSAFE.sub("_", clean).strip(" .")
    clean = re.sub(r"\s+", " ", clean)
    if ".." in clean:
        clean = clean.replace("..", "_")
    if not clean:
        clean = "document"
    stem, dot, ext = clean.rpartition(".")
    if dot and len(ext) <= 10:
        return stem[: 120 - len(ext) - 1] + "." + ext
    return clean[:120]


@dataclass(frozen=True)
class DocumentRef:
    """A stored document, as other modules and the API see it."""

    id: str
    application_id: str
    document_type: str
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    uploaded_at: datetime
    retain_until: datetime


@dataclass(frozen=True)
class Validity:
    """When a licence is in force (UTC)."""

    valid_from: datetime
    valid_until: datetime


@dataclass(frozen=True)
class LicenceRef:
    """An issued licence: its id, PDF document, signed token and public verification URL."""

    id: str
    application_id: str
    document_id: str
    token: str
    verification_url: str
    validity: Validity


@dataclass(frozen=True)
class IssuedLicence:
    """A licence as the applicant's page lists it (no token, no holder details)."""

    id: str
    application_id: str
    document_id: str
    issuing_department: str
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime
    revoked_at: datetime | None


class LicenceStatus(StrEnum):
    """What verification says about a licence."""

    VALID = "valid"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REVOKED = "revoked"
    FORGED = "forged"


@dataclass(frozen=True)
class LicenceVerification:
    """The outcome of verifying a licence, with the signed claims when they are genuine."""

    status: LicenceStatus
    reason: str
    claims: dict[str, Any] | None = None
    revocation_checked: bool = True


def assess_claims(
    claims: dict[str, Any], now: datetime, revoked: bool | None
) -> LicenceVerification:
    """Status of genuinely signed claims at ``now``; ``revoked`` None means not checked."""
    try:
        nbf, exp = int(claims["nbf"]), int(claims["exp"])
    except (KeyError, TypeError, ValueError):
        return LicenceVerification(LicenceStatus.FORGED, "the token has no validity period")
    if claims.get("typ") != "civicloom-licence":
        return LicenceVerification(LicenceStatus.FORGED, "the token is not a civicloom licence")
    checked = revoked is not None
    stamp = now.timestamp()
    if revoked:
        return LicenceVerification(
            LicenceStatus.REVOKED, "revoked by the issuing department", claims
        )
    if stamp >= exp:
        return LicenceVerification(
            LicenceStatus.EXPIRED, "the validity period has ended", claims, checked
        )
    if stamp < nbf:
        return LicenceVerification(
            LicenceStatus.NOT_YET_VALID, "the validity period has not started", claims, checked
        )
    return LicenceVerification(LicenceStatus.VALID, "genuine and in force", claims, checked)
