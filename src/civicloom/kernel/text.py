"""Texts in the platform's languages."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LocalisedText(BaseModel):
    """A text in English and Simplified Chinese."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    en: str = Field(min_length=1)
    zh_hans: str = Field(alias="zh-Hans", min_length=1)

    def get(self, locale: str) -> str:
        """The text for a locale, English as fallback."""
        return self.zh_hans if locale.lower().startswith("zh") else self.en
