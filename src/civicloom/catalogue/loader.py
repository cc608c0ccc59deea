"""Reading blueprints from ``blueprints/services/<id>/blueprint.yaml``."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from civicloom.catalogue.spec import Blueprint
from civicloom.kernel import FieldError, ValidationFailed


def load_blueprint_file(path: Path) -> Blueprint:
    """Parse and validate one blueprint file; errors name the file and the path inside it."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValidationFailed([FieldError(str(path), "yaml", str(exc))]) from exc
    try:
        return Blueprint.model_validate(raw)
    except ValidationError as exc:
        errors = [
            FieldError(f"{path}:{'.'.join(str(p) for p in err['loc'])}", err["type"], err["msg"])
            for err in exc.errors()
        ]
        raise ValidationFailed(errors, f"{path} is not a valid blueprint") from exc


def load_blueprints(blueprints_dir: Path) -> list[Blueprint]:
    """Every service blueprint under the directory."""
    return [
        load_blueprint_file(p)
        for p in sorted((blueprints_dir / "services").glob("*/blueprint.yaml"))
    ]
