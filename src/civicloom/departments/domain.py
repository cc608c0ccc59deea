"""Department entities."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from civicloom.kernel import LocalisedText

RESERVED_DEPARTMENT_IDS = frozenset({"payments"})
"""Sender names the platform itself uses for completions (``PAYMENTS_SENDER``): a department
with such an id could answer steps only the platform may answer (ADR 0032)."""


class DepartmentContact(BaseModel):
    """How the public reaches a department about its part of a service (the contact page)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str = Field(pattern=r"^\+?[0-9 ()-]{5,30}$")
    hours: LocalisedText
    handles: LocalisedText = Field(description="What to contact this department about.")


class Department(BaseModel):
    """An agency with its own officers, systems, rules and data."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str = Field(pattern=r"^[a-z][a-z0-9-]{1,48}$")
    name: LocalisedText
    system: str = Field(description="Style of its systems: legacy, modern, outsourced, messaging.")
    connector: dict[str, Any] = Field(default_factory=dict)
    roles: list[str] = Field(default_factory=list)
    contact: DepartmentContact | None = None

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_DEPARTMENT_IDS:
            raise ValueError(f"'{value}' is reserved for the platform's own completions")
        return value
