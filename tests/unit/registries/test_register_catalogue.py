"""The registers the platform answers for (ADR 0048) and the data catalogue (ADR 0050) describe
the same department registers: the same fields, the same owner, and a field the registry calls
personal is personal data in the catalogue (and the other way round)."""

from __future__ import annotations

from pathlib import Path

from civicloom.catalogue import DataClass, load_register_catalogue
from civicloom.registries import DEPARTMENT_REGISTERS

ROOT = Path(__file__).resolve().parents[3] / "blueprints"


def test_every_department_register_is_catalogued_field_for_field() -> None:
    catalogue = load_register_catalogue(ROOT)
    assert sorted(r.capability for r in catalogue.registers) == sorted(
        str(r.capability) for r in DEPARTMENT_REGISTERS
    )
    for register in DEPARTMENT_REGISTERS:
        entry = catalogue.register(str(register.capability))
        assert entry is not None
        assert entry.owner == register.owner
        assert list(entry.fields) == list(register.field_names)
        personal = {
            name
            for name, spec in entry.fields.items()
            if spec.data_class in (DataClass.PERSONAL, DataClass.SPECIAL_CATEGORY)
        }
        assert personal == {f.name for f in register.fields if f.personal}, register.name
