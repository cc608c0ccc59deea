"""Checking application data against a blueprint's form schema."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError as SchemaError

from civicloom.catalogue.spec import Blueprint
from civicloom.kernel import EMAIL_PATTERN, FieldError, ValidationFailed, normalise_data


@lru_cache(maxsize=256)
def _ascii_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.ASCII)


def _ascii_pattern(
    validator: Any, pattern: str, instance: Any, schema: Any
) -> Iterator[SchemaError]:
    """``pattern`` as JSON Schema (ECMA-262) means it: ``\\d`` and ``\\w`` are ASCII only, so
    ``٤٠`` or full-width digits do not pass for a number written in a pattern."""
    if isinstance(instance, str) and not _ascii_regex(pattern).search(instance):
        yield SchemaError(f"{instance!r} does not match {pattern!r}")


_FormValidator = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator, {"pattern": _ascii_pattern}
)


#: ``format: email`` as people mean it: a name, "@", and a domain with a dot ("alice@" and
#: "alice@example" are not addresses anyone can write to; jsonschema only looks for an "@")
_FORMATS = FormatChecker()
_EMAIL = re.compile(EMAIL_PATTERN)


@_FORMATS.checks("email")
def _is_email(instance: object) -> bool:
    return not isinstance(instance, str) or bool(_EMAIL.match(instance))


def _not_before(schema: dict[str, Any], data: Any, prefix: str, today: date) -> list[FieldError]:
    """``x-not-before: today`` on a date field: a date before today is refused (a planned
    opening in 2020). Checked only where the caller knows today (a new answer or submission,
    not an application moved to a new version)."""
    if not isinstance(data, dict):
        return []
    errors = []
    for name, field in (schema.get("properties") or {}).items():
        value = data.get(name)
        if not (isinstance(field, dict) and field.get("x-not-before") == "today"):
            continue
        try:
            day = date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            day = None  # the date format rule names it
        if day is not None and day < today:
            errors.append(
                FieldError(f"{prefix}.{name}", "x-not-before", f"{name} must be today or later")
            )
    return errors


def _field_path(error: SchemaError, prefix: str) -> str:
    parts = [str(p) for p in error.absolute_path]
    # 'required' and 'dependentRequired' errors sit on the parent; name the missing field itself.
    if error.validator in ("required", "dependentRequired") and isinstance(error.instance, dict):
        missing = error.message.split("'")[1] if "'" in error.message else ""
        if missing:
            parts.append(missing)
    return ".".join([prefix, *parts]) if parts else prefix


def validate_form_data(
    blueprint: Blueprint, data: Any, prefix: str = "data", *, today: date | None = None
) -> None:
    """Raise ValidationFailed naming every field that breaks the form schema, and its rule.

    Texts are checked by the inbound-text gate first (no lone surrogate, control character or
    bidirectional override); a text that breaks it is named with its rule.
    """
    try:
        normalise_data(data, prefix)
    except ValidationFailed as failed:
        text_errors = failed.errors
    else:
        text_errors = []
    validator = _FormValidator(blueprint.form.json_schema, format_checker=_FORMATS)
    errors = text_errors + [
        FieldError(field=_field_path(e, prefix), rule=str(e.validator), message=e.message)
        for e in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    ]
    if today is not None:
        errors += _not_before(blueprint.form.json_schema, data, prefix, today)
    if errors:
        raise ValidationFailed(errors, f"{len(errors)} answer(s) on the form need correcting")
