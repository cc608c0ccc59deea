"""Department entities."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class LocalisedText(BaseModel):
    """A text in English and Simplified Chinese."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    en: str = Field(min_length=1)
    zh_hans: str = Field(alias="zh-Hans", min_length=1)

    def get(self, locale: str) -> str:
        """The text for a locale, English as fallback."""
        return self.zh_hans if locale.lower().startswith("zh") else self.en


class Department(BaseModel):
    """An agency with its own officers, systems, rules and data."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str = Field(pattern=r"^[a-z][a-z0-9-]{1,48}$")
    name: LocalisedText
    system: str = Field(description="Style of its systems: legacy, modern, outsourced, messaging.")
    connector: dict[str, Any] = Field(default_factory=dict)
    roles: list[str] = Field(default_factory=list)
