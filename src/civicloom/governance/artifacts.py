"""The files a change request edits: where the published version of each kind lives, how a
draft is read back into a blueprint or a decision model, and which department owns what."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from civicloom.catalogue import Blueprint, get_current_blueprint
from civicloom.db import UnitOfWork
from civicloom.governance.domain import CENTRAL, ChangeKind
from civicloom.kernel import FieldError, NotFound, ValidationFailed
from civicloom.rules import DecisionModel, ModelRef, RuleBook, load_model_file

LANGUAGES = ("en", "zh-Hans")


@dataclass(frozen=True)
class Workspace:
    """What change requests read and write besides the database: the ``blueprints/``
    directory (templates, agreements, tariffs and decision-model files) and the process's rule
    book (the decision models in effect)."""

    blueprints_dir: Path
    book: RuleBook
    environment: str = "local"
    whatif_last: int = 40  # the what-if replays the draft over this many recent applications

    @classmethod
    def from_directory(cls, blueprints_dir: Path, environment: str = "local") -> Workspace:
        """A workspace over ``blueprints_dir`` with a rule book loaded from its models."""
        return cls(blueprints_dir, RuleBook.from_directory(blueprints_dir / "rules"), environment)


def blueprint_path(service_id: str) -> str:
    """Where a service's blueprint lives under ``blueprints/``."""
    return f"services/{service_id}/blueprint.yaml"


def model_path(ref: str, version: int) -> str:
    """Where a decision model version lives under ``blueprints/``."""
    return f"rules/{ref}/v{version}.json"


def tests_file(path: str) -> str:
    """The test cases beside a model version file."""
    return path.removesuffix(".json") + ".tests.yaml"


def dump_yaml(document: Mapping[str, Any]) -> str:
    """A document as the YAML an editor shows (keys in their order, Chinese kept readable)."""
    return yaml.safe_dump(dict(document), allow_unicode=True, sort_keys=False, width=100)


def model_document(model: DecisionModel) -> dict[str, Any]:
    """A decision model version as its JSON file holds it (metadata first)."""
    return {
        "metadata": model.metadata.model_dump(mode="json", exclude_none=True, by_alias=True),
        **model.content,
    }


def dump_model(model: DecisionModel) -> str:
    """A decision model version file's text."""
    return json.dumps(model_document(model), indent=2, ensure_ascii=False) + "\n"


def dump_tests(model: DecisionModel) -> str:
    """A decision model's test cases file's text."""
    cases = [c.model_dump(mode="json", exclude_none=True) for c in model.tests]
    return dump_yaml({"cases": cases})


def _read(ws: Workspace, rel: str) -> str | None:
    path = ws.blueprints_dir / rel
    return path.read_text(encoding="utf-8") if path.is_file() else None


def latest_model(ws: Workspace, ref: str) -> DecisionModel:
    """The newest version of a decision model the rule book knows (any status)."""
    versions = ws.book.versions(ModelRef.parse(ref).key)
    if not versions:
        raise NotFound(f"no decision model {ref!r}")
    return versions[-1]


async def published_files(
    uow: UnitOfWork, ws: Workspace, kind: ChangeKind, target: str
) -> dict[str, str]:
    """The published files a change of ``kind`` to ``target`` is drafted against."""
    if kind is ChangeKind.BLUEPRINT:
        async with uow:
            current = await get_current_blueprint(uow.session, target)
        if current is None:
            raise NotFound(f"no published service {target!r}")
        return {blueprint_path(target): dump_yaml(current.blueprint.document())}
    if kind is ChangeKind.DECISION_MODEL:
        model = latest_model(ws, target)
        path = model_path(model.ref.key, model.version)
        return {path: dump_model(model), tests_file(path): dump_tests(model)}
    if kind is ChangeKind.TEMPLATE:
        found = {
            f"templates/{target}.{lang}.j2": text
            for lang in LANGUAGES
            if (text := _read(ws, f"templates/{target}.{lang}.j2")) is not None
        }
        if not found:
            raise NotFound(f"no notification template {target!r}")
        return found
    folder = "agreements" if kind is ChangeKind.AGREEMENT else "tariffs"
    text = _read(ws, f"{folder}/{target}.yaml")
    if text is None:
        raise NotFound(f"no {kind.value} {target!r}")
    return {f"{folder}/{target}.yaml": text}


def parse_blueprint(text: str, where: str) -> Blueprint:
    """A draft blueprint file read back (problems name the file)."""
    try:
        return Blueprint.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValueError) as exc:
        raise ValidationFailed([FieldError(where, "blueprint", str(exc).splitlines()[0])]) from exc


def parse_models(files: Mapping[str, str]) -> list[DecisionModel]:
    """Every decision model version among the files (with its tests beside it)."""
    models: list[DecisionModel] = []
    with tempfile.TemporaryDirectory() as tmp:
        for rel, text in files.items():
            if not (rel.startswith("rules/") and rel.endswith(".json")):
                continue
            path = Path(tmp) / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            tests = files.get(tests_file(rel))
            if tests is not None:
                Path(tmp, tests_file(rel)).write_text(tests, encoding="utf-8")
            model = load_model_file(path)
            models.append(model.model_copy(update={"source": rel}))
    return models


def field_owner(schema: Mapping[str, Any], default: str) -> str:
    """The department that owns a form field (``x-owner``, else the service's owner)."""
    return str(schema.get("x-owner") or default)


def file_owner(rel: str, blueprint_owner: str | None = None) -> str:
    """The department that owns a file changed wholesale (templates, agreements, tariffs)."""
    if rel.startswith("rules/"):
        return rel.split("/")[1]
    if rel.startswith("tariffs/"):
        return CENTRAL  # the funding model of shared platforms is the central team's
    if rel.startswith("agreements/"):
        return ""  # read from the agreement: the provider owns what it shares
    return blueprint_owner or CENTRAL


def agreement_owner(text: str) -> str:
    """The department that owns the register an agreement shares (it approves the agreement)."""
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return CENTRAL
    return str(raw.get("owner") or CENTRAL) if isinstance(raw, dict) else CENTRAL


def next_model_files(rel: str, text: str, tests: str) -> dict[str, str]:
    """A new draft version of the model in ``rel`` (number raised, unsealed), with its tests."""
    document = json.loads(text)
    metadata = dict(document.get("metadata") or {})
    version = int(metadata.get("version", 0)) + 1
    metadata.update({"version": version, "status": "draft"})
    metadata.pop("content_hash", None)
    metadata.pop("published_at", None)
    new_rel = f"{rel.rsplit('/', 1)[0]}/v{version}.json"
    body = json.dumps({**document, "metadata": metadata}, indent=2, ensure_ascii=False) + "\n"
    return {new_rel: body, tests_file(new_rel): tests}
