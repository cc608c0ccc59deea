"""The public data catalogue (ADR 0050): every field of every published service, every document
type and every catalogued register field, with its owner department, data class, legal basis
and retention. It describes data; it holds none (no answer, no record, no person)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from civicloom.catalogue.ownership import DataCatalogueEntry, Retention, blueprint_entries
from civicloom.catalogue.registercatalogue import load_register_catalogue
from civicloom.catalogue.services import list_current_blueprints
from civicloom.db import UnitOfWork
from civicloom.departments import department_names
from civicloom.kernel import LocalisedText


@dataclass(frozen=True)
class DataCatalogue:
    """What the catalogue page and API show."""

    entries: tuple[DataCatalogueEntry, ...]
    departments: dict[str, LocalisedText]
    draft_retention: Retention
    draft_legal_basis: str

    def scopes(self) -> list[tuple[str, LocalisedText, list[DataCatalogueEntry]]]:
        """Entries grouped by service or register, in catalogue order."""
        groups: dict[str, tuple[LocalisedText, list[DataCatalogueEntry]]] = {}
        for entry in self.entries:
            groups.setdefault(entry.scope, (entry.scope_title, []))[1].append(entry)
        return [(scope, title, items) for scope, (title, items) in groups.items()]


async def read_data_catalogue(uow: UnitOfWork, blueprints_dir: Path) -> DataCatalogue:
    """The catalogue of the services published now and of the registers they may read."""
    registers = load_register_catalogue(blueprints_dir)
    async with uow:
        published = await list_current_blueprints(uow.session)
        names = await department_names(uow.session)
    services = sorted(published, key=lambda p: p.blueprint.id)
    entries = [e for p in services for e in blueprint_entries(p.blueprint)]
    return DataCatalogue(
        tuple(entries + registers.entries()),
        names,
        registers.draft_retention,
        registers.drafts.legal_basis,
    )
