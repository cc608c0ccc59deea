"""What a blueprint is checked against: departments and their capabilities, decision models,
templates and calendars."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from civicloom.catalogue.agreements import DataSharingAgreement, load_agreements
from civicloom.catalogue.spec import StepKind
from civicloom.departments import Department, load_departments
from civicloom.rules import RuleBook

LANGUAGES = ("en", "zh-Hans")


@dataclass(frozen=True)
class Capability:
    """A capability as a department declares it."""

    id: str
    department: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    is_async: bool = False

    def output_fields(self) -> frozenset[str]:
        """Top-level names in the output schema."""
        return frozenset((self.output_schema.get("properties") or {}).keys())


@dataclass(frozen=True)
class CatalogueContext:
    """Everything outside the blueprint that the validator consults."""

    departments: dict[str, Department]
    capabilities: dict[str, Capability]
    rulebook: RuleBook
    blueprints_dir: Path
    agreements: tuple[DataSharingAgreement, ...] = ()
    # The step kinds the engine has a handler for (its registry, ADR 0030): the built-in ones.
    step_kinds: frozenset[str] = frozenset(StepKind)

    @classmethod
    def from_directory(
        cls, blueprints_dir: Path, rulebook: RuleBook | None = None
    ) -> CatalogueContext:
        """Read departments (with capabilities) and decision models from ``blueprints/``."""
        departments = {d.id: d for d in load_departments(blueprints_dir)}
        capabilities: dict[str, Capability] = {}
        for dept in departments.values():
            for raw in (dept.model_extra or {}).get("capabilities") or []:
                cap = Capability(
                    id=str(raw["id"]),
                    department=dept.id,
                    input_schema=dict(raw.get("input_schema") or {}),
                    output_schema=dict(raw.get("output_schema") or {}),
                    is_async=bool(raw.get("async", False)),
                )
                capabilities[cap.id] = cap
        book = rulebook or RuleBook.from_directory(blueprints_dir / "rules")
        agreements = load_agreements(blueprints_dir)
        return cls(departments, capabilities, book, blueprints_dir, agreements)

    def template_files(self, template: str) -> list[Path]:
        """The files a template id resolves to: one per language."""
        base = self.blueprints_dir / "templates"
        return [base / f"{template}.{lang}.j2" for lang in LANGUAGES]

    def calendar_path(self, calendar: str) -> Path:
        """Where a holiday calendar lives."""
        return self.blueprints_dir / "calendars" / f"{calendar}.yaml"
