"""The data-ownership catalogue (ADR 0050): every form field and document type declares its
owner, data class, legal basis and retention, or the blueprint is not valid; agreements share
only catalogued register fields. Expected messages are written by hand."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from civicloom.catalogue import (
    Blueprint,
    CatalogueContext,
    DataClass,
    EntryKind,
    Retention,
    blueprint_entries,
    field_retentions,
    load_agreements,
    load_blueprints,
    load_register_catalogue,
    ownership_problems,
    require_ownership,
)
from civicloom.catalogue.validation import validate_blueprint_text
from civicloom.kernel import ValidationFailed

ROOT = Path(__file__).resolve().parents[3] / "blueprints"
RESTAURANT = ROOT / "services" / "open-a-restaurant" / "blueprint.yaml"
DEPARTMENTS = frozenset({"local-admin", "tax", "environment", "labour"})


def restaurant() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(RESTAURANT.read_text(encoding="utf-8"))
    return doc


def test_every_demo_field_and_document_declares_its_ownership() -> None:
    for blueprint in load_blueprints(ROOT):
        assert ownership_problems(blueprint, DEPARTMENTS) == []
    shop = Blueprint.model_validate(restaurant())
    entries = {(e.kind, e.name): e.ownership for e in blueprint_entries(shop)}
    assert len(entries) == 15  # 12 form fields, 2 uploads, the licence
    director = entries[(EntryKind.FORM_FIELD, "director_name")]
    assert (director.owner, director.data_class, director.retention.text) == (
        "local-admin",
        DataClass.PERSONAL,
        "P2Y",
    )
    assert entries[(EntryKind.FORM_FIELD, "tax_id")].owner == "tax"
    lease = entries[(EntryKind.DOCUMENT, "lease")]
    assert (lease.data_class, lease.retention.text) == (DataClass.PERSONAL, "P2Y")
    assert entries[(EntryKind.DOCUMENT, "licence")].retention == Retention(years=1)


def test_a_field_without_an_owner_is_not_valid(tmp_path: Path) -> None:
    doc = restaurant()
    del doc["form"]["schema"]["properties"]["cuisine"]["x-owner"]
    problems = validate_blueprint_text(
        yaml.safe_dump(doc, allow_unicode=True), "shop.yaml", CatalogueContext.from_directory(ROOT)
    )
    assert [(p.path, p.rule, p.message) for p in problems] == [
        (
            "form.schema.properties.cuisine.x-owner",
            "owner-required",
            "field 'cuisine' declares no owner department (x-owner)",
        )
    ]


def test_publishing_refuses_each_missing_or_wrong_declaration_by_field_and_rule() -> None:
    doc = restaurant()
    props = doc["form"]["schema"]["properties"]
    del props["seating"]["x-owner"]
    props["grease_trap"]["x-data-class"] = "secret"
    del props["staff_count"]["x-legal-basis"]
    props["opening_date"]["x-retention"] = "six years"
    props["cuisine"]["x-owner"] = "ministry-of-magic"
    del doc["documents"][1]["retention"]
    with pytest.raises(ValidationFailed) as refused:
        require_ownership(Blueprint.model_validate(doc), DEPARTMENTS)
    assert [(e.field, e.rule) for e in refused.value.errors] == [
        ("form.schema.properties.seating.x-owner", "owner-required"),
        ("form.schema.properties.grease_trap.x-data-class", "bad-data-class"),
        ("form.schema.properties.staff_count.x-legal-basis", "legal-basis-required"),
        ("form.schema.properties.cuisine.x-owner", "unknown-department"),
        ("form.schema.properties.opening_date.x-retention", "bad-retention"),
        ("documents[1].retention", "retention-required"),
    ]
    messages = [e.message for e in refused.value.errors]
    assert messages[1] == (
        "field 'grease_trap': 'secret' is not a data class "
        "(none, business, personal, special-category)"
    )
    assert messages[4] == (
        "'six years' is not a retention period: write an ISO 8601 period such as P6Y, P18M or P30D"
    )
    assert messages[5] == "document type 'lease' declares no retention period (retention)"


def test_retention_periods_add_calendar_years_months_and_days() -> None:
    closed = datetime(2024, 2, 29, 10, 0, tzinfo=UTC)
    assert Retention.parse("P6Y").after(closed) == datetime(2030, 2, 28, 10, 0, tzinfo=UTC)
    assert Retention.parse("P1Y6M").after(closed) == datetime(2025, 8, 29, 10, 0, tzinfo=UTC)
    assert Retention.parse("P30D").after(closed) == datetime(2024, 3, 30, 10, 0, tzinfo=UTC)
    assert Retention.parse("P1Y6M").text == "P1Y6M"
    for wrong in ("P", "P0D", "6Y", "P1W", "P1.5Y"):
        with pytest.raises(ValueError, match=r"retention period|is zero"):
            Retention.parse(wrong)


def test_field_retentions_skip_undeclared_fields() -> None:
    doc = restaurant()
    del doc["form"]["schema"]["properties"]["cuisine"]["x-retention"]
    kept = field_retentions(Blueprint.model_validate(doc))
    assert "cuisine" not in kept
    assert kept["contact_email"] == Retention(years=1)


def copy_world(tmp_path: Path) -> Path:
    root = tmp_path / "blueprints"
    shutil.copytree(ROOT, root)
    return root


def test_an_agreement_sharing_an_uncatalogued_field_is_refused_at_load(tmp_path: Path) -> None:
    root = copy_world(tmp_path)
    path = root / "agreements" / "DSA-2025-102.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("fields: [tax_id, registered_address]", "fields: [tax_id, pin]"))
    with pytest.raises(ValueError, match="uncatalogued-field") as refused:
        load_agreements(root)
    assert str(refused.value) == (
        f"{path}: fields[1]: 'pin' is not a catalogued field of tax.taxpayer_lookup "
        "(data-catalogue.yaml lists name, registered_address, registration_number, standing, "
        "tax_id); an agreement shares only catalogued fields [uncatalogued-field]"
    )
    with pytest.raises(ValueError, match=r"\[uncatalogued-field\]"):
        CatalogueContext.from_directory(root)  # the validator's world refuses it too


def test_an_agreement_on_an_uncatalogued_register_is_refused_at_load(tmp_path: Path) -> None:
    root = copy_world(tmp_path)
    catalogue = yaml.safe_load((root / "data-catalogue.yaml").read_text(encoding="utf-8"))
    catalogue["registers"] = [
        r for r in catalogue["registers"] if r["register"] != "local-admin.parcel_lookup"
    ]
    (root / "data-catalogue.yaml").write_text(yaml.safe_dump(catalogue, allow_unicode=True))
    with pytest.raises(ValueError, match="uncatalogued-register") as refused:
        load_agreements(root)
    assert str(refused.value) == (
        f"{root / 'agreements' / 'DSA-2025-103.yaml'}: register: 'local-admin.parcel_lookup' "
        "is not in the data catalogue (data-catalogue.yaml); an agreement shares only "
        "catalogued fields [uncatalogued-register]"
    )


def test_the_demo_agreements_share_only_catalogued_fields() -> None:
    catalogue = load_register_catalogue(ROOT)
    for agreement in load_agreements(ROOT):
        register = catalogue.register(agreement.capability)
        assert register is not None
        assert set(agreement.fields) <= set(register.fields)
    assert catalogue.draft_retention == Retention(days=30)
