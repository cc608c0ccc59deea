"""Edits the back office makes to a draft's files: add or change a form field, set a rule
table cell (a fee), set a step's SLA, replace a template's text in one language. Pure: each
takes the draft's files and returns the files to store."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import yaml

from civicloom.catalogue import DataClass, Retention
from civicloom.governance.artifacts import (
    LANGUAGES,
    Workspace,
    dump_model,
    dump_tests,
    dump_yaml,
    latest_model,
    model_path,
    next_model_files,
    tests_file,
)
from civicloom.kernel import FieldError, ValidationFailed

FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
FIELD_TYPES = ("string", "integer", "boolean", "date")


def _blueprint(files: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    for rel, text in files.items():
        if rel.startswith("services/"):
            return rel, dict(yaml.safe_load(text))
    raise ValidationFailed([FieldError("files", "blueprint", "This change has no blueprint")])


def set_form_field(
    files: Mapping[str, str],
    *,
    name: str,
    kind: str,
    title_en: str,
    title_zh: str,
    page: str,
    required: bool,
    owner: str,
    data_class: str = "",
    legal_basis: str = "",
    retention: str = "",
) -> dict[str, str]:
    """Add a form field to a page (or change an existing one's type, labels and owner), with
    what the data-ownership catalogue needs of it (ADR 0050): its data class, legal basis and
    retention period."""
    errors: list[FieldError] = []
    if data_class not in {c.value for c in DataClass}:
        errors.append(FieldError("data_class", "choice", "Choose what kind of data it holds"))
    if not legal_basis.strip():
        errors.append(FieldError("legal_basis", "required", "Enter the legal basis for asking it"))
    try:
        Retention.parse(retention)
    except ValueError:
        errors.append(
            FieldError("retention", "pattern", "Enter how long it is kept, like P6Y, P18M or P30D")
        )
    if not FIELD_NAME.match(name):
        errors.append(
            FieldError(
                "name", "pattern", "Enter a name of lower-case letters, digits and underscores"
            )
        )
    if kind not in FIELD_TYPES:
        errors.append(FieldError("type", "choice", "Choose a type"))
    if not title_en.strip():
        errors.append(FieldError("title_en", "required", "Enter the English label"))
    if not title_zh.strip():
        errors.append(FieldError("title_zh", "required", "Enter the Chinese label"))
    rel, document = _blueprint(files)
    form = document.setdefault("form", {})
    pages = (form.setdefault("ui", {})).setdefault("pages", [])
    page_ids = [str(p.get("id")) for p in pages]
    if page not in page_ids:
        errors.append(FieldError("page", "choice", "Choose a page"))
    if errors:
        raise ValidationFailed(errors)
    schema = form.setdefault("schema", {})
    properties = schema.setdefault("properties", {})
    field: dict[str, Any] = (
        {"type": "string", "format": "date"} if kind == "date" else {"type": kind}
    )
    field.update(
        {
            "title": title_en.strip(),
            "x-title": {"en": title_en.strip(), "zh-Hans": title_zh.strip()},
            "x-owner": owner,
            "x-data-class": data_class,
            "x-legal-basis": legal_basis.strip(),
            "x-retention": retention.strip(),
        }
    )
    properties[name] = {
        **{k: v for k, v in properties.get(name, {}).items() if k not in ("type", "format")},
        **field,
    }
    required_fields = [f for f in schema.get("required") or [] if f != name]
    if required:
        required_fields.append(name)
    schema["required"] = required_fields
    for p in pages:
        fields = [f for f in p.get("fields") or [] if f != name]
        if p.get("id") == page:
            fields.append(name)
        p["fields"] = fields
    return {**files, rel: dump_yaml(document)}


def set_step_sla(files: Mapping[str, str], *, step: str, days: str) -> dict[str, str]:
    """Set the SLA (working days) of one step."""
    rel, document = _blueprint(files)
    steps = {str(s.get("id")): s for s in document.get("steps") or []}
    errors: list[FieldError] = []
    if step not in steps:
        errors.append(FieldError("step", "choice", "Choose a step"))
    if not days.isdigit() or not 1 <= int(days) <= 365:
        errors.append(FieldError("days", "range", "Enter a whole number of days from 1 to 365"))
    if errors:
        raise ValidationFailed(errors)
    steps[step]["sla"] = {**(steps[step].get("sla") or {}), "working_days": int(days)}
    return {**files, rel: dump_yaml(document)}


def _model_file(files: Mapping[str, str], ref: str) -> str | None:
    prefix = f"rules/{ref}/"
    found = sorted(k for k in files if k.startswith(prefix) and k.endswith(".json"))
    return found[-1] if found else None


def model_for_edit(
    ws: Workspace, files: Mapping[str, str], ref: str
) -> tuple[dict[str, str], dict[str, str]]:
    """The draft's version of a decision model, adding a new draft version of the published
    one when the change does not carry it yet: ``(files, base files to compare with)``."""
    if _model_file(files, ref) is not None:
        return dict(files), {}
    model = latest_model(ws, ref)
    path = model_path(model.ref.key, model.version)
    base = {path: dump_model(model), tests_file(path): dump_tests(model)}
    return {**files, **next_model_files(path, base[path], base[tests_file(path)])}, base


def rule_rows(files: Mapping[str, str], ref: str) -> list[tuple[str, str, str, str]]:
    """``(table id, row id, column id, cell)`` of every cell of the model's decision tables."""
    rel = _model_file(files, ref)
    if rel is None:
        return []
    cells: list[tuple[str, str, str, str]] = []
    for node in json.loads(files[rel]).get("nodes") or []:
        if node.get("type") != "decisionTableNode":
            continue
        content = node.get("content") or {}
        columns = [str(c["id"]) for c in [*content.get("inputs", []), *content.get("outputs", [])]]
        for row in content.get("rules") or []:
            cells.extend(
                (str(node["id"]), str(row["_id"]), c, str(row.get(c, ""))) for c in columns
            )
    return cells


def set_rule_cell(
    files: Mapping[str, str],
    *,
    ref: str,
    table: str,
    row: str,
    column: str,
    value: str,
) -> dict[str, str]:
    """Set one cell of a decision table in the draft's model version (e.g. a fee amount)."""
    rel = _model_file(files, ref)
    if rel is None:
        raise ValidationFailed([FieldError("ref", "model", "This change has no such model")])
    if not value.strip() or len(value) > 200:
        raise ValidationFailed([FieldError("value", "required", "Enter the cell's value")])
    document = json.loads(files[rel])
    found = False
    for node in document.get("nodes") or []:
        if node.get("id") != table:
            continue
        for r in (node.get("content") or {}).get("rules") or []:
            if r.get("_id") == row and column in r:
                r[column] = value.strip()
                found = True
    if not found:
        raise ValidationFailed([FieldError("cell", "choice", "Choose a cell of the table")])
    out = {**files, rel: json.dumps(document, indent=2, ensure_ascii=False) + "\n"}
    return out


def update_tests(
    files: Mapping[str, str], *, ref: str, case: str, expect: Mapping[str, Any]
) -> dict[str, str]:
    """Change the expected output of one test case of the draft's model version."""
    rel = _model_file(files, ref)
    if rel is None or tests_file(rel) not in files:
        raise ValidationFailed([FieldError("ref", "model", "This change has no such model")])
    raw = yaml.safe_load(files[tests_file(rel)]) or {}
    for c in raw.get("cases") or []:
        if c.get("name") == case:
            c["expect"] = {**(c.get("expect") or {}), **expect}
    return {**files, tests_file(rel): dump_yaml(raw)}


def set_template_text(files: Mapping[str, str], *, language: str, text: str) -> dict[str, str]:
    """Replace the text of the template in one language."""
    if language not in LANGUAGES:
        raise ValidationFailed([FieldError("language", "choice", "Choose a language")])
    if not text.strip():
        raise ValidationFailed([FieldError("text", "required", "Enter the template text")])
    rel = next((k for k in files if k.endswith(f".{language}.j2")), None)
    if rel is None:
        raise ValidationFailed([FieldError("language", "choice", "Choose a language")])
    return {**files, rel: text.replace("\r\n", "\n")}
