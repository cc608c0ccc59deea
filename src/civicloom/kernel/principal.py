"""Who is acting: the identity every use case receives from the web or CLI layer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class Principal:
    """An authenticated person or system, with its roles and (for staff) department."""

    subject: str
    display_name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    department: str | None = None
    authenticated_by: str = "unknown"

    @property
    def audit_name(self) -> str:
        """How the principal appears in audit entries (an id, never personal data)."""
        return f"{self.authenticated_by}:{self.subject}"


class Capacity(StrEnum):
    """In what capacity a person acts for a business (ADR 0041)."""

    DIRECTOR = "director"  # the business register names them (director or signatory)
    DELEGATE = "delegate"  # a director delegated the service to them, and they accepted
    IDP_MANDATE = "idp-mandate"  # the register names nobody; the identity provider's mandate


@dataclass(frozen=True)
class ActingFor:
    """The verified answer to "may this person act for this business, for this service?".

    Built only by ``civicloom.registries.verify_acting_for`` after reading the business
    register; ``entry`` is what the register answered (the application's business data and
    the licence holder come from it, not from the form).
    """

    subject: str
    registration_number: str
    capacity: Capacity
    department: str  # the register's owner
    capability: str  # the register read, e.g. "local-admin.business_lookup"
    agreement: str  # the data-sharing agreement it was read under
    entry: Mapping[str, Any]
    checked_at: datetime
    mandate_id: str | None = None  # the delegated mandate, when capacity is DELEGATE
    directors: tuple[str, ...] = ()  # subjects the register names (to tell them)
