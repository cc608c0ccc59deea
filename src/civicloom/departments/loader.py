"""Reading department definitions from ``blueprints/departments/*.yaml``."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from civicloom.departments.domain import Department
from civicloom.kernel import FieldError, ValidationFailed


def load_departments(blueprints_dir: Path) -> list[Department]:
    """Every department file, validated; errors name the file and field."""
    departments: list[Department] = []
    errors: list[FieldError] = []
    for path in sorted((blueprints_dir / "departments").glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        try:
            departments.append(Department.model_validate(raw))
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                errors.append(FieldError(f"{path.name}:{loc}", err["type"], err["msg"]))
    if errors:
        raise ValidationFailed(errors, "department definitions are invalid")
    return departments
