"""Data-sharing agreements as data (``blueprints/agreements/*.yaml``): the format and loader.

The catalogue reads them because blueprints are validated against them ("prefill only fields
an agreement covers"); ``civicloom.registries`` stores them with their approval and enforces
them at run time (ADR 0022).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from civicloom.catalogue.registercatalogue import (
    CATALOGUE_FILE,
    catalogued_register_fields,
    load_register_catalogue,
)
from civicloom.kernel import LocalisedText


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Approval(_Strict):
    """Who in the owning department approved the agreement, and when."""

    by: str = Field(min_length=2, description="Name or role of the approving officer.")
    department: str = Field(description="Must be the register's owning department.")
    at: date


class DataSharingAgreement(_Strict):
    """Which department may read which fields of which register, why, and on what basis."""

    id: str = Field(pattern=r"^DSA-[0-9]{4}-[0-9]{3}$")
    title: LocalisedText
    capability: str = Field(alias="register", description="The capability reading the register.")
    owner: str = Field(description="Department that owns the register.")
    reader: str = Field(description="Department allowed to read.")
    fields: tuple[str, ...] = Field(min_length=1, description="Register fields covered.")
    purpose: LocalisedText
    legal_basis: str = Field(min_length=3)
    consent: Literal["required", "not-required"] = "required"
    valid_from: date
    valid_until: date | None = None
    approved: Approval | None = None
    verifies_representation: bool = Field(
        False,
        description="The register's answer also says who represents the business (ADR 0023):"
        " it is read first, and the applicant's representation is judged on it.",
    )

    @property
    def consent_required(self) -> bool:
        """Whether the subject must consent (otherwise the legal basis is shown instead)."""
        return self.consent == "required"

    def in_force(self, on: date) -> bool:
        """Approved by the owner and valid on ``on``."""
        return (
            self.approved is not None
            and self.approved.department == self.owner
            and self.valid_from <= on
            and (self.valid_until is None or on <= self.valid_until)
        )

    def covers(self, register: str, reader: str, field: str, on: date) -> bool:
        """Whether ``reader`` may read ``field`` from ``register`` under this agreement."""
        top = field.split(".", 1)[0]
        return (
            self.capability == register
            and self.reader == reader
            and top in self.fields
            and self.in_force(on)
        )


def load_agreements(blueprints_dir: Path) -> tuple[DataSharingAgreement, ...]:
    """Every agreement under ``blueprints/agreements`` (ValueError names a broken file).

    An agreement may share only fields the data catalogue lists for its register
    (``blueprints/data-catalogue.yaml``, ADR 0050): otherwise the error names the file, the
    field and the rule (``uncatalogued-register`` / ``uncatalogued-field``).
    """
    catalogue = load_register_catalogue(blueprints_dir)
    found: list[DataSharingAgreement] = []
    for path in sorted((blueprints_dir / "agreements").glob("*.yaml")):
        try:
            agreement = DataSharingAgreement.model_validate(yaml.safe_load(path.read_text()))
        except Exception as exc:
            raise ValueError(f"{path}: {exc}") from exc
        if catalogue.register(agreement.capability) is None:
            raise ValueError(
                f"{path}: register: {agreement.capability!r} is not in the data catalogue "
                f"({CATALOGUE_FILE}); an agreement shares only catalogued fields "
                "[uncatalogued-register]"
            )
        known = catalogued_register_fields(catalogue, agreement.capability)
        for i, name in enumerate(agreement.fields):
            if name not in known:
                raise ValueError(
                    f"{path}: fields[{i}]: {name!r} is not a catalogued field of "
                    f"{agreement.capability} ({CATALOGUE_FILE} lists {', '.join(sorted(known))}); "
                    "an agreement shares only catalogued fields [uncatalogued-field]"
                )
        found.append(agreement)
    return tuple(found)


def agreement_for(
    agreements: tuple[DataSharingAgreement, ...], register: str, reader: str, field: str, on: date
) -> DataSharingAgreement | None:
    """The agreement in force that lets ``reader`` read ``field`` from ``register``, if any."""
    return next((a for a in agreements if a.covers(register, reader, field, on)), None)
