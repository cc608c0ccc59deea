"""Checking application data against a blueprint's form schema."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaError

from civicloom.catalogue.spec import Blueprint
from civicloom.kernel import FieldError, ValidationFailed


def _field_path(error: SchemaError, prefix: str) -> str:
    parts = [str(p) for p in error.absolute_path]
    # 'required' and 'dependentRequired' errors sit on the parent; name the missing field itself.
    if error.validator in ("required", "dependentRequired") and isinstance(error.instance, dict):
        missing = error.message.split("'")[1] if "'" in error.message else ""
        if missing:
            parts.append(missing)
    return ".".join([prefix, *parts]) if parts else prefix


def validate_form_data(blueprint: Blueprint, data: Any, prefix: str = "data") -> None:
    """Raise ValidationFailed naming every field that breaks the form schema, and its rule."""
    validator = Draft202012Validator(blueprint.form.json_schema, format_checker=FormatChecker())
    errors = [
        FieldError(field=_field_path(e, prefix), rule=str(e.validator), message=e.message)
        for e in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    ]
    if errors:
        raise ValidationFailed(errors, f"{len(errors)} answer(s) on the form need correcting")
