"""The catalogue's register fields and drafts: ``blueprints/data-catalogue.yaml`` (ADR 0050).

The platform reads a department's register through a capability, never copies it; its fields
are declared here, register by register, with their owner, data class, legal basis and the
owning department's retention. A data-sharing agreement may share only these fields.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from civicloom.catalogue.ownership import (
    DataCatalogueEntry,
    DataClass,
    EntryKind,
    Ownership,
    Retention,
    RetentionStart,
)
from civicloom.kernel import LocalisedText

CATALOGUE_FILE = "data-catalogue.yaml"
"""The register fields and the draft retention, under ``blueprints/``."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RegisterFieldSpec(_Strict):
    """A register field as the catalogue file declares it."""

    title: LocalisedText
    data_class: DataClass
    legal_basis: str = Field(min_length=3)
    retention: str
    owner: str | None = Field(None, description="Default: the register's owner.")


class RegisterSpec(_Strict):
    """A department's base register, read through its capability."""

    capability: str = Field(
        alias="register", description="The capability reading it, e.g. `tax.taxpayer_lookup`."
    )
    title: LocalisedText
    owner: str
    fields: dict[str, RegisterFieldSpec] = Field(min_length=1)


class DraftsSpec(_Strict):
    """How long an application the applicant has not submitted is kept."""

    legal_basis: str = Field(min_length=3)
    retention: str


class RegisterCatalogue(_Strict):
    """``blueprints/data-catalogue.yaml``."""

    drafts: DraftsSpec
    registers: list[RegisterSpec] = Field(default_factory=list)

    def register(self, capability: str) -> RegisterSpec | None:
        """The register read through ``capability``, if catalogued."""
        return next((r for r in self.registers if r.capability == capability), None)

    @property
    def draft_retention(self) -> Retention:
        """How long a draft is kept after its last change."""
        return Retention.parse(self.drafts.retention)

    def entries(self) -> list[DataCatalogueEntry]:
        """The catalogue lines of every register field."""
        return [
            DataCatalogueEntry(
                EntryKind.REGISTER_FIELD,
                reg.capability,
                reg.title,
                name,
                spec.title,
                Ownership(
                    spec.owner or reg.owner,
                    spec.data_class,
                    spec.legal_basis,
                    Retention.parse(spec.retention),
                ),
                RetentionStart.RECORD_ENDED,
            )
            for reg in self.registers
            for name, spec in reg.fields.items()
        ]


EMPTY_CATALOGUE = RegisterCatalogue(drafts=DraftsSpec(legal_basis="not declared", retention="P30D"))


def load_register_catalogue(blueprints_dir: Path) -> RegisterCatalogue:
    """The register catalogue (ValueError naming the file, the path and the rule).

    Without the file nothing is catalogued: every agreement that shares a field is refused.
    """
    path = blueprints_dir / CATALOGUE_FILE
    if not path.exists():
        return EMPTY_CATALOGUE
    try:
        catalogue = RegisterCatalogue.model_validate(yaml.safe_load(path.read_text("utf-8")))
    except Exception as exc:
        raise ValueError(f"{path}: {exc}") from exc
    for i, reg in enumerate(catalogue.registers):
        for name, spec in reg.fields.items():
            try:
                Retention.parse(spec.retention)
            except ValueError as exc:
                where = f"registers[{i}].fields.{name}.retention"
                raise ValueError(f"{path}: {where}: {exc} [bad-retention]") from exc
    try:
        catalogue.draft_retention  # noqa: B018 - parsed to be refused here, not in the worker
    except ValueError as exc:
        raise ValueError(f"{path}: drafts.retention: {exc} [bad-retention]") from exc
    return catalogue


def catalogued_register_fields(catalogue: RegisterCatalogue, capability: str) -> frozenset[str]:
    """The catalogued fields of the register read through ``capability`` (empty if none)."""
    reg = catalogue.register(capability)
    return frozenset(reg.fields) if reg is not None else frozenset()
