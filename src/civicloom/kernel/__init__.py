"""Pure building blocks shared by every module: ids, clocks and domain errors. No I/O."""

from civicloom.kernel.clock import Clock, FixedClock, SystemClock
from civicloom.kernel.errors import (
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
)
from civicloom.kernel.ids import canonical_json, new_id, new_reference, sha256_hex
from civicloom.kernel.keyset import Cursor, InvalidCursor, Page, Position, SignedCursors
from civicloom.kernel.principal import ActingFor, Capacity, Principal
from civicloom.kernel.text import (
    EMAIL_PATTERN,
    InboundModel,
    Line,
    LocalisedText,
    PathId,
    Text,
    TextKind,
    normalise_data,
    normalise_text,
    one_line,
    parse_ascii_number,
    text_problem,
)
from civicloom.kernel.workdays import add_working_days, working_days_between

__all__ = [
    "EMAIL_PATTERN",
    "ActingFor",
    "Capacity",
    "Clock",
    "Conflict",
    "Cursor",
    "DomainError",
    "FieldError",
    "FixedClock",
    "InboundModel",
    "InvalidCursor",
    "Line",
    "LocalisedText",
    "NotFound",
    "Page",
    "PathId",
    "PayloadTooLarge",
    "Position",
    "Principal",
    "SignedCursors",
    "SystemClock",
    "Text",
    "TextKind",
    "ValidationFailed",
    "add_working_days",
    "canonical_json",
    "new_id",
    "new_reference",
    "normalise_data",
    "normalise_text",
    "one_line",
    "parse_ascii_number",
    "sha256_hex",
    "text_problem",
    "working_days_between",
]
