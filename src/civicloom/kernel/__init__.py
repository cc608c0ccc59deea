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
from civicloom.kernel.principal import Principal
from civicloom.kernel.text import LocalisedText
from civicloom.kernel.workdays import add_working_days, working_days_between

__all__ = [
    "Clock",
    "Conflict",
    "DomainError",
    "FieldError",
    "FixedClock",
    "LocalisedText",
    "NotFound",
    "PayloadTooLarge",
    "Principal",
    "SystemClock",
    "ValidationFailed",
    "add_working_days",
    "canonical_json",
    "new_id",
    "new_reference",
    "sha256_hex",
    "working_days_between",
]
