"""Reading decision models from ``blueprints/rules/<department>/<model-id>/v<N>.json``.

Each version file is a GoRules JDM document with one extra top-level key, ``metadata``
(version, status, effective dates, and the content hash once published). Its test cases
live beside it in ``v<N>.tests.yaml`` as ``cases: [{name, input, expect}]``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from civicloom.kernel import FieldError, ValidationFailed
from civicloom.rules.domain import DecisionModel, ModelMetadata, ModelStatus, TestCase

_VERSION_FILE = re.compile(r"^v(?P<n>[0-9]+)\.json$")


def tests_path(model_path: Path) -> Path:
    """Where the test cases of a version file live."""
    return model_path.with_name(model_path.name.removesuffix(".json") + ".tests.yaml")


def _pydantic_errors(where: str, exc: ValidationError) -> list[FieldError]:
    return [
        FieldError(f"{where}:{'.'.join(str(p) for p in e['loc'])}", e["type"], e["msg"])
        for e in exc.errors()
    ]


def _read_tests(path: Path) -> tuple[TestCase, ...]:
    if not path.exists():
        return ()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ValidationFailed([FieldError(str(path), "yaml", str(exc))]) from exc
    cases = raw.get("cases") if isinstance(raw, dict) else None
    if not isinstance(cases, list):
        raise ValidationFailed([FieldError(f"{path}:cases", "type", "expected a list of cases")])
    try:
        return tuple(TestCase.model_validate(c) for c in cases)
    except ValidationError as exc:
        raise ValidationFailed(_pydantic_errors(f"{path}:cases", exc)) from exc


def load_model_file(
    path: Path,
    department: str | None = None,
    model: str | None = None,
    *,
    candidate: bool = False,
) -> DecisionModel:
    """One model version (with its tests); errors name the file and the key.

    A ``candidate`` may be a bare JDM export from the GoRules editor (no ``metadata``): it is
    then treated as an unnumbered draft (version 0).
    """
    department = department or path.parent.parent.name
    model = model or path.parent.name
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValidationFailed([FieldError(str(path), "json", str(exc))]) from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("nodes"), list):
        raise ValidationFailed([FieldError(f"{path}:nodes", "jdm", "not a JDM document")])
    content = {k: v for k, v in raw.items() if k != "metadata"}
    try:
        default = {"version": 0, "valid_from": "1970-01-01"} if candidate else {}
        metadata = ModelMetadata.model_validate(raw.get("metadata") or default)
    except ValidationError as exc:
        raise ValidationFailed(_pydantic_errors(f"{path}:metadata", exc)) from exc
    errors: list[FieldError] = []
    match = _VERSION_FILE.match(path.name)
    if match and not candidate and int(match.group("n")) != metadata.version:
        errors.append(
            FieldError(
                f"{path}:metadata.version",
                "version-matches-file",
                f"file {path.name} declares version {metadata.version}",
            )
        )
    decision_model = DecisionModel(
        department=department,
        model=model,
        metadata=metadata,
        content=content,
        tests=_read_tests(tests_path(path)),
        source=str(path),
    )
    if metadata.status is not ModelStatus.DRAFT:
        sealed = metadata.content_hash
        if sealed != decision_model.content_hash():
            errors.append(
                FieldError(
                    f"{path}:metadata.content_hash",
                    "published-immutable",
                    f"{decision_model.ref} is {metadata.status.value} and its content changed "
                    "since publication; publish the change as a new version",
                )
            )
    if errors:
        raise ValidationFailed(errors, f"{path} is not a valid decision model")
    return decision_model


def model_files(rules_dir: Path) -> list[Path]:
    """Every version file under the rules directory, in a stable order."""
    return sorted(p for p in rules_dir.glob("*/*/v*.json") if _VERSION_FILE.match(p.name))


def load_models(rules_dir: Path) -> list[DecisionModel]:
    """Every model version; all problems in all files are reported together."""
    models: list[DecisionModel] = []
    errors: list[FieldError] = []
    for path in model_files(rules_dir):
        try:
            models.append(load_model_file(path))
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors, "decision models are invalid")
    return models


def write_model_file(path: Path, model: DecisionModel) -> None:
    """Write a version file back (metadata first), atomically."""
    document = {
        "metadata": model.metadata.model_dump(mode="json", exclude_none=True, by_alias=True),
        **model.content,
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
