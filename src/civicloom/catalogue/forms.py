"""Checking application data against a blueprint's form schema."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError as SchemaError

from civicloom.catalogue.spec import Blueprint
from civicloom.kernel import FieldError, ValidationFailed, normalise_data


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


def _field_path(error: SchemaError, prefix: str) -> str:
    parts = [str(p) for p in error.absolute_path]
    # 'required' and 'dependentRequired' errors sit on the parent; name the missing field itself.
    if error.validator in ("required", "dependentRequired") and isinstance(error.instance, dict):
        missing = error.message.split("'")[1] if "'" in error.message else ""
        if missing:
            parts.append(missing)
    return ".".join([prefix, *parts]) if parts else prefix


def validate_form_data(blueprint: Blueprint, data: Any, prefix: str = "data") -> None:
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
    validator = _FormValidator(blueprint.form.json_schema, format_checker=FormatChecker())
    errors = text_errors + [
        FieldError(field=_field_path(e, prefix), rule=str(e.validator), message=e.message)
        for e in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    ]
    if errors:
        raise ValidationFailed(errors, f"{len(errors)} answer(s) on the form need correcting")
