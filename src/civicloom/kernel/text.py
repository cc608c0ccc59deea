"""Texts in the platform's languages, and the one gate every inbound text passes.

Inbound text (API bodies, portal forms, file names, e-mail titles) is checked and normalised
here BEFORE it is hashed, stored or sent: a lone surrogate, a control character or a
bidirectional override is refused with a rule naming it; what is accepted is Unicode NFC.
Numbers typed by people are read with ASCII digits only (``٤٠``, ``4_0`` and ``２０００`` are
not numbers here, whatever Python's ``int()`` thinks).
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from civicloom.kernel.errors import FieldError, ValidationFailed


class LocalisedText(BaseModel):
    """A text in English and Simplified Chinese."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    en: str = Field(min_length=1)
    zh_hans: str = Field(alias="zh-Hans", min_length=1)

    def get(self, locale: str) -> str:
        """The text for a locale, English as fallback."""
        return self.zh_hans if locale.lower().startswith("zh") else self.en


# Embeddings, overrides, isolates and the implicit marks: they reorder what a reader sees
# (``invoice\u202efdp.exe`` reads as ``invoiceexe.pdf``).
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_LINE_BREAKS = frozenset("\t\n\r")


class TextKind(StrEnum):
    """How strict the gate is."""

    TEXT = "text"  # free text: tab and line breaks allowed
    LINE = "line"  # one line: names, titles, subjects, identifiers
    FILE_NAME = "file-name"  # one line, and no invisible (format, private, unassigned) character


def text_problem(value: str, kind: TextKind = TextKind.TEXT) -> tuple[str, str] | None:
    """The first rule ``value`` breaks, as ``(rule, message)``, or None when it is acceptable."""
    for char in value:
        point = ord(char)
        if 0xD800 <= point <= 0xDFFF:
            return "unicode", f"contains a lone surrogate U+{point:04X}: send valid Unicode text"
        if char in BIDI_CONTROLS:
            return "bidi-control", f"must not contain the bidirectional control U+{point:04X}"
        category = unicodedata.category(char)
        if category == "Cc" and not (kind is TextKind.TEXT and char in _LINE_BREAKS):
            return "control-character", f"must not contain the control character U+{point:04X}"
        if kind is TextKind.FILE_NAME and category in ("Cf", "Co", "Cn"):
            return "invisible-character", f"must not contain the invisible character U+{point:04X}"
    return None


def normalise_text(value: str, field: str, kind: TextKind = TextKind.TEXT) -> str:
    """``value`` in Unicode NFC, or ValidationFailed naming ``field`` and the broken rule."""
    problem = text_problem(value, kind)
    if problem is not None:
        rule, message = problem
        raise ValidationFailed([FieldError(field, rule, f"{field} {message}")])
    return unicodedata.normalize("NFC", value)


def _walk(value: Any, path: str, errors: list[FieldError], kind: TextKind) -> Any:
    if isinstance(value, str):
        problem = text_problem(value, kind)
        if problem is not None:
            errors.append(FieldError(path, problem[0], f"{path} {problem[1]}"))
            return value
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        result: dict[Any, Any] = {}
        for key, item in value.items():
            name = str(key)
            problem = text_problem(name, TextKind.LINE)
            if problem is not None:
                errors.append(FieldError(path, problem[0], f"a key of {path} {problem[1]}"))
                continue
            name = unicodedata.normalize("NFC", name)
            result[name] = _walk(item, f"{path}.{name}", errors, kind)
        return result
    if isinstance(value, list | tuple):
        return [_walk(item, f"{path}.{i}", errors, kind) for i, item in enumerate(value)]
    return value


def normalise_data(value: Any, field: str = "data", kind: TextKind = TextKind.TEXT) -> Any:
    """Every text (keys included) of a JSON value checked and NFC-normalised; ValidationFailed
    naming each bad field (``data.business_name``) otherwise. Other values are returned as is."""
    errors: list[FieldError] = []
    result = _walk(value, field, errors, kind)
    if errors:
        raise ValidationFailed(errors, f"{len(errors)} text(s) contain characters not allowed")
    return result


def one_line(text: str) -> str:
    """Text made one line for a header or a title: control characters, bidirectional controls
    and line separators become spaces; runs of white space collapse. For text the platform
    composes itself (a rendered subject); text from a caller is refused by the gate instead."""
    kept = (
        " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in BIDI_CONTROLS else c
        for c in text
    )
    return " ".join("".join(kept).split())


_INTEGER = re.compile(r"[+-]?[0-9]{1,30}")
_DECIMAL = re.compile(r"[+-]?[0-9]{1,30}(?:\.[0-9]{1,30})?")


def parse_ascii_number(value: str, *, integer: bool) -> int | float | None:
    """A number written with ASCII digits (an optional sign, a ``.`` for decimals), else None.

    ``int()`` and ``float()`` accept Arabic-Indic and full-width digits and ``_`` separators;
    a person reading the answer back would not see the number that was stored.
    """
    text = value.strip()
    if integer:
        return int(text) if _INTEGER.fullmatch(text) else None
    return float(text) if _DECIMAL.fullmatch(text) else None


# -- pydantic: the same gate for API bodies ------------------------------------------------
def _gate(kind: TextKind) -> AfterValidator:
    def check(value: str) -> str:
        problem = text_problem(value, kind)
        if problem is not None:
            raise PydanticCustomError(problem[0], "this text {why}", {"why": problem[1]})
        return unicodedata.normalize("NFC", value)

    return AfterValidator(check)


_BIDI_CLASS = "\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069"
LINE_PATTERN = f"^[^\\x00-\\x1f\\x7f-\\x9f{_BIDI_CLASS}]*$"
"""What ``Line`` accepts, as a JSON Schema pattern for the API documentation."""
TEXT_PATTERN = f"^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f{_BIDI_CLASS}]*$"
"""What ``Text`` accepts, as a JSON Schema pattern for the API documentation."""
_ADDRESS_PART = f"[^@\\s\\x00-\\x1f\\x7f-\\x9f{_BIDI_CLASS}]+"
EMAIL_PATTERN = f"^{_ADDRESS_PART}@{_ADDRESS_PART}\\.{_ADDRESS_PART}$"
"""An e-mail address a mail header can carry: no spaces, control or bidirectional characters."""

# The pattern is documented (clients and schemathesis see the rule); the check itself is the
# gate, so a refusal names its rule (control-character, bidi-control, unicode).
Text = Annotated[str, _gate(TextKind.TEXT), Field(json_schema_extra={"pattern": TEXT_PATTERN})]
"""Free inbound text (line breaks allowed), checked and normalised."""
Line = Annotated[str, _gate(TextKind.LINE), Field(json_schema_extra={"pattern": LINE_PATTERN})]
"""One inbound line (a name, a title, an identifier), checked and normalised."""


PathId = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=LINE_PATTERN)]
"""An object id in a URL path: one line without control characters (PostgreSQL refuses a NUL;
here it is a 422 naming ``path:<name>``, not a 500 there)."""


class InboundModel(BaseModel):
    """Base of request bodies: every text field (and list of texts) passes the gate as free text
    before the handler sees it; fields typed ``Line`` are held to one line. A free-form JSON
    object field is gated where it is used (``normalise_data`` in the use case that stores it)."""

    @field_validator("*", mode="after")
    @classmethod
    def _inbound_text(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str | list):
            errors: list[FieldError] = []
            value = _walk(value, info.field_name or "value", errors, TextKind.TEXT)
            if errors:
                first = errors[0]
                raise PydanticCustomError(first.rule, "{why}", {"why": first.message})
        return value
