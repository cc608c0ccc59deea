"""Once-only in the registries' words: consents, data-use entries, business representation.

Pure: no SQLAlchemy, FastAPI or httpx. The agreement format itself is
``civicloom.catalogue.DataSharingAgreement`` (blueprints are validated against it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class Consent:
    """The applicant's consent to read named fields from named registers for one purpose."""

    id: str
    subject: str
    service_id: str
    purpose: str
    agreements: tuple[str, ...]
    departments: tuple[str, ...]
    fields: tuple[str, ...]
    granted_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        """Not revoked and not expired."""
        return self.revoked_at is None and now < self.expires_at


class Representation(StrEnum):
    """Whether the applicant may act for a business, and on what ground."""

    VERIFIED = "verified"  # the business register names the applicant its director
    MANDATE = "mandate"  # the register does not identify the director; the IdP mandate stands
    REFUSED = "refused"  # the register names someone else


def representation_from_register(
    subject: str, display_name: str, has_mandate: bool, answer: dict[str, Any]
) -> Representation:
    """Judge representation from the business register's answer.

    The register is authoritative when it identifies the director (person id, else name);
    only when it identifies nobody does the identity provider's mandate stand alone.
    """
    person = answer.get("director_person_id")
    if person:
        return Representation.VERIFIED if person == subject else Representation.REFUSED
    name = str(answer.get("director_name") or "").casefold().split()
    if name and name == display_name.casefold().split():
        return Representation.VERIFIED
    return Representation.MANDATE if has_mandate else Representation.REFUSED


@dataclass(frozen=True)
class RegisterRead:
    """One register look-up a form asks for, and which of its fields an agreement covers."""

    capability: str
    department: str
    input: dict[str, Any]
    fields: dict[str, str]  # form field -> path in the register's answer (covered only)
    keys: dict[str, Any]  # form fields the input itself answers (e.g. the registration number)
    agreement: str | None  # the covering agreement's id
    consent_required: bool = True
    refused: tuple[str, ...] = field(default=())  # form fields no agreement covers
    needs: tuple[str, ...] = field(default=())  # form fields to ask first (x-prefill ``ask``)
