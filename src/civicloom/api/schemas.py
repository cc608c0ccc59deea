"""API contract models, kept apart from tables and domain entities."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from civicloom.applications import ApplicationView


class ApplicationCreate(BaseModel):
    """Body of ``POST /api/v1/applications``."""

    model_config = ConfigDict(extra="forbid")

    service: str = Field(
        min_length=1, max_length=100, description="Service id, e.g. `open-a-restaurant`."
    )
    data: dict[str, Any] = Field(description="Answers to the service's form (its JSON Schema).")


class ApplicationOut(BaseModel):
    """An application as its applicant sees it."""

    id: str
    reference: str
    service: str
    blueprint_version: int
    state: str
    data: dict[str, Any]
    submitted_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, view: ApplicationView) -> ApplicationOut:
        """Map the domain view."""
        return cls(
            id=view.id,
            reference=view.reference,
            service=view.service_id,
            blueprint_version=view.blueprint_version,
            state=view.state.value,
            data=view.data,
            submitted_at=view.submitted_at,
            updated_at=view.updated_at,
        )


class ServiceOut(BaseModel):
    """A service in the catalogue."""

    id: str
    version: int
    title: dict[str, str]
    owner: str
    form_schema: dict[str, Any]


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str | None = None
    errors: list[dict[str, str]] | None = None
