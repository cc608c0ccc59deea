"""API contract of documents, licences, verification and the data-use log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from civicloom.audit import DataUse
from civicloom.documents.domain import DocumentRef, LicenceVerification
from civicloom.kernel import InboundModel, Line, Text


class DocumentOut(
    BaseModel,
    json_schema_extra={
        "examples": [
            {
                "id": "01JF8ZY1DC3C5D7E9F1G3H5J7K",
                "application_id": "01JF8ZQ6V3K2M7N4P5R8S9T0WX",
                "document_type": "floor_plan",
                "filename": "floor-plan.pdf",
                "media_type": "application/pdf",
                "size_bytes": 184233,
                "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "uploaded_at": "2026-03-02T09:30:00Z",
                "retain_until": "2033-03-02T09:30:00Z",
            }
        ]
    },
):
    """A stored document's metadata."""

    id: str
    application_id: str
    document_type: str
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    uploaded_at: datetime
    retain_until: datetime

    @classmethod
    def of(cls, ref: DocumentRef) -> DocumentOut:
        """Map the domain reference."""
        return cls(**ref.__dict__)


class VerificationOut(
    BaseModel,
    json_schema_extra={
        "examples": [
            {
                "status": "valid",
                "reason": "signature verified; not revoked",
                "revocation_checked": True,
                "licence_id": "01JF8ZZ3LC5D7E9F1G3H5J7K9M",
                "activity": "restaurant",
                "premises": "12 Harbour Street, Riverton",
                "holder": {"name": "Golden Lotus Ltd", "registration_number": "BR-2019-004211"},
                "issuing_department": "local-admin",
                "key_id": "2026-01",
                "valid_from": "2026-03-10T00:00:00Z",
                "valid_until": "2031-03-09T23:59:59Z",
            }
        ]
    },
):
    """What verification says: valid, expired, not_yet_valid, revoked or forged."""

    status: str
    reason: str
    licence_id: str | None = None
    holder: dict[str, Any] | None = None
    activity: str | None = None
    premises: str | None = None
    issuing_department: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    key_id: str | None = None
    revocation_checked: bool

    @classmethod
    def of(cls, result: LicenceVerification) -> VerificationOut:
        """Map the domain result (claims only when genuinely signed)."""
        claims = result.claims or {}

        def stamp(key: str) -> datetime | None:
            return datetime.fromtimestamp(int(claims[key]), UTC) if key in claims else None

        return cls(
            status=result.status.value,
            reason=result.reason,
            licence_id=claims.get("jti"),
            holder=claims.get("holder"),
            activity=claims.get("activity"),
            premises=claims.get("premises"),
            issuing_department=claims.get("dept"),
            valid_from=stamp("nbf"),
            valid_until=stamp("exp"),
            key_id=claims.get("kid"),
            revocation_checked=result.revocation_checked,
        )


class TokenIn(
    InboundModel,
    json_schema_extra={
        "examples": [
            {
                "token": "eyJhbGciOiJFZERTQSIsImtpZCI6IjIwMjYtMDEifQ"
                ".eyJsaWMiOiIwMUpGOFoifQ.c2lnbmF0dXJl"
            }
        ]
    },
):
    """A licence token to verify."""

    model_config = ConfigDict(extra="forbid")

    token: Line = Field(min_length=10, max_length=8000, description="The compact JWS of a licence.")


class RevocationIn(
    InboundModel, json_schema_extra={"examples": [{"reason": "Premises closed by the owner."}]}
):
    """Why a licence is revoked."""

    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=3, max_length=500)


class DataUseOut(
    BaseModel,
    json_schema_extra={
        "examples": [
            {
                "occurred_at": "2026-03-02T09:30:00Z",
                "actor": "staff:tom",
                "department": "tax",
                "application_id": "01JF8ZQ6V3K2M7N4P5R8S9T0WX",
                "fields": ["business_registration_number"],
                "purpose": "tax clearance",
                "action": "personal_data.read",
            }
        ]
    },
):
    """One read of the citizen's personal data."""

    occurred_at: datetime
    actor: str
    department: str | None
    application_id: str
    fields: list[str]
    purpose: str | None
    action: str

    @classmethod
    def of(cls, use: DataUse) -> DataUseOut:
        """Map the audit view."""
        return cls(**{**use.__dict__, "fields": list(use.fields)})
