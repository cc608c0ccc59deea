"""Blueprint entities: the versioned, declarative definition of a service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from civicloom.kernel import LocalisedText, canonical_json, sha256_hex


class BlueprintStatus(StrEnum):
    """Lifecycle of a blueprint version."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class FormDefinition(BaseModel):
    """The application form: a JSON Schema for the data plus UI hints."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    json_schema: dict[str, Any] = Field(alias="schema")
    ui: dict[str, Any] = Field(default_factory=dict)


class Blueprint(BaseModel):
    """A service blueprint as written by its owning department (extra sections are kept)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9-]{1,60}$")
    version: int = Field(ge=1)
    title: LocalisedText
    description: LocalisedText | None = None
    owner: str
    reference_prefix: str = Field(pattern=r"^[A-Z]{2,5}$")
    form: FormDefinition

    def document(self) -> dict[str, Any]:
        """The full document as plain JSON (aliases preserved)."""
        return self.model_dump(mode="json", by_alias=True)

    def content_hash(self) -> str:
        """SHA-256 of the canonical document: a published version's identity."""
        return sha256_hex(canonical_json(self.document()))


class PublishedBlueprint(BaseModel):
    """A stored blueprint version, as used by an application."""

    model_config = ConfigDict(frozen=True)

    version_id: str
    status: BlueprintStatus
    content_hash: str
    blueprint: Blueprint


@dataclass(frozen=True)
class BlueprintVersionView:
    """One stored version of a service blueprint, as the service owner's page lists it."""

    id: str
    service_id: str
    version: int
    status: str
    owner_department: str
    content_hash: str
    document: dict[str, Any]
    created_at: datetime
    published_at: datetime | None
