"""Blueprint versions: their lifecycle and how they are stored (the format is spec.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from civicloom.catalogue.spec import Blueprint


class BlueprintStatus(StrEnum):
    """Lifecycle of a blueprint version."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


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
