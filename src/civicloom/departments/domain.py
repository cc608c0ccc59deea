"""Department entities."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from civicloom.kernel import LocalisedText


class Department(BaseModel):
    """An agency with its own officers, systems, rules and data."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str = Field(pattern=r"^[a-z][a-z0-9-]{1,48}$")
    name: LocalisedText
    system: str = Field(description="Style of its systems: legacy, modern, outsourced, messaging.")
    connector: dict[str, Any] = Field(default_factory=dict)
    roles: list[str] = Field(default_factory=list)
