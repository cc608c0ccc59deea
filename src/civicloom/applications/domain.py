"""Application entities and commands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class ApplicationState(StrEnum):
    """Where an application is in its life."""

    SUBMITTED = "submitted"
    IN_PROGRESS = "in_progress"
    AWAITING_APPLICANT = "awaiting_applicant"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    COMPLETED = "completed"


@dataclass(frozen=True)
class SubmitApplication:
    """The command a citizen (or their representative) sends to apply for a service."""

    service_id: str
    data: dict[str, Any]
    idempotency_key: str | None = None


@dataclass(frozen=True)
class ApplicationView:
    """What the applicant may read about their application."""

    id: str
    reference: str
    service_id: str
    blueprint_version: int
    blueprint_version_id: str
    state: ApplicationState
    data: dict[str, Any]
    submitted_at: datetime
    updated_at: datetime
