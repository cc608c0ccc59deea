"""Agreements as data, the blueprint rule "prefill only what an agreement covers", run-time
planning that keeps uncovered fields out, and the representation verdict."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml

from civicloom.catalogue import (
    CatalogueContext,
    agreement_for,
    load_agreements,
    load_blueprint_file,
    load_blueprints,
    validate_blueprint_file,
)
from civicloom.identity import ScopedPrincipal
from civicloom.registries import Representation, plan_reads, representation_from_register

ROOT = Path(__file__).resolve().parents[3] / "blueprints"
RESTAURANT = ROOT / "services" / "open-a-restaurant" / "blueprint.yaml"
ALICE = ScopedPrincipal(
    subject="alice",
    display_name="Alice Chen",
    roles=frozenset({"citizen", "business-representative"}),
    mandates=frozenset({"BR-2019-004211"}),
)
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_demo_agreements_are_approved_by_the_register_owner() -> None:
    agreements = load_agreements(ROOT)
    assert {a.id for a in agreements} == {"DSA-2025-101", "DSA-2025-102", "DSA-2025-103"}
    for a in agreements:
        assert a.approved is not None
        assert a.approved.department == a.owner
        assert a.in_force(date(2026, 3, 1))
    tax = agreement_for(agreements, "tax.taxpayer_lookup", "local-admin", "tax_id", NOW.date())
    assert tax is not None
    assert tax.owner == "tax"
    day = NOW.date()
    assert agreement_for(agreements, "tax.taxpayer_lookup", "labour", "tax_id", day) is None
    assert agreement_for(agreements, "tax.taxpayer_lookup", "local-admin", "standing", day) is None


def test_an_unapproved_or_expired_agreement_covers_nothing() -> None:
    (a,) = [x for x in load_agreements(ROOT) if x.id == "DSA-2025-102"]
    unapproved = a.model_copy(update={"approved": None})
    expired = a.model_copy(update={"valid_until": date(2025, 6, 30)})
    wrong_approver = a.model_copy(
        update={"approved": a.approved.model_copy(update={"department": "local-admin"})}  # type: ignore[union-attr]
    )
    for bad in (unapproved, expired, wrong_approver):
        assert not bad.covers("tax.taxpayer_lookup", "local-admin", "tax_id", NOW.date())


def test_prefill_without_an_agreement_is_refused_at_validation(tmp_path: Path) -> None:
    doc = yaml.safe_load(RESTAURANT.read_text(encoding="utf-8"))
    doc["form"]["schema"]["properties"]["tax_id"]["x-prefill"]["path"] = "standing"
    file = tmp_path / "blueprint.yaml"
    file.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    problems = validate_blueprint_file(file, CatalogueContext.from_directory(ROOT))
    found = [p for p in problems if p.rule == "no-prefill-agreement"]
    assert [p.path for p in found] == ["form.schema.properties.tax_id.x-prefill"]
    assert "'standing'" in found[0].message
    assert "tax.taxpayer_lookup" in found[0].message
    assert validate_blueprint_file(RESTAURANT, CatalogueContext.from_directory(ROOT)) == []


def test_run_time_plans_read_only_covered_fields() -> None:
    (restaurant,) = [b for b in load_blueprints(ROOT) if b.id == "open-a-restaurant"]
    agreements = load_agreements(ROOT)
    plans = {p.capability: p for p in plan_reads(restaurant, ALICE, {}, agreements, NOW)}
    assert list(plans) == [
        "local-admin.business_lookup",
        "tax.taxpayer_lookup",
        "local-admin.parcel_lookup",
    ]
    business = plans["local-admin.business_lookup"]
    assert business.input == {"registration_number": "BR-2019-004211"}
    assert set(business.fields) == {"business_name", "director_name"}
    assert plans["tax.taxpayer_lookup"].fields == {"tax_id": "tax_id"}
    # the land-parcel register is asked by the parcel id: the applicant gives it first
    parcel = plans["local-admin.parcel_lookup"]
    assert (parcel.needs, parcel.fields, parcel.keys) == (
        ("parcel_id",),
        {"premises_address": "address"},
        {},
    )
    answered = plan_reads(restaurant, ALICE, {"parcel_id": "P-0042-117"}, agreements, NOW)
    (parcel,) = [p for p in answered if p.capability == "local-admin.parcel_lookup"]
    assert (parcel.needs, parcel.input, parcel.agreement) == (
        (),
        {"parcel_id": "P-0042-117"},
        "DSA-2025-103",
    )
    # a mandate answers only the registration number, never another field (the parcel id)
    assert "parcel_id" not in parcel.keys
    # an agreement that no longer lists the director's name: that field is refused at run time
    narrowed = tuple(
        a.model_copy(update={"fields": ("name",)}) if a.id == "DSA-2025-101" else a
        for a in agreements
    )
    plans = {p.capability: p for p in plan_reads(restaurant, ALICE, {}, narrowed, NOW)}
    assert "director_name" not in plans["local-admin.business_lookup"].fields
    assert plans["local-admin.business_lookup"].refused == ("director_name",)
    # no agreement at all: no plan, nothing is read
    assert plan_reads(restaurant, ALICE, {}, (), NOW) == []


@pytest.mark.parametrize(
    ("answer", "mandate", "expected"),
    [
        ({"director_person_id": "alice", "director_name": "Alice Chen"}, True, "verified"),
        ({"director_person_id": "alice", "director_name": "Alice Chen"}, False, "verified"),
        ({"director_person_id": "person-rusty", "director_name": "Alice Chen"}, True, "refused"),
        ({"director_person_id": None, "director_name": "alice  chen"}, False, "verified"),
        ({"director_person_id": None, "director_name": "Victor Petrov"}, True, "mandate"),
        ({"director_person_id": None, "director_name": "Victor Petrov"}, False, "refused"),
    ],
)
def test_representation_follows_the_business_register(
    answer: dict[str, object], mandate: bool, expected: str
) -> None:
    assert representation_from_register("alice", "Alice Chen", mandate, answer) is Representation(
        expected
    )


def test_the_agreement_that_verifies_representation_is_read_first() -> None:
    (restaurant,) = [b for b in load_blueprints(ROOT) if b.id == "open-a-restaurant"]
    agreements = load_agreements(ROOT)
    assert [a.id for a in agreements if a.verifies_representation] == ["DSA-2025-101"]
    # which register verifies representation is the agreements' word, not a constant
    swapped = tuple(
        a.model_copy(update={"verifies_representation": a.id == "DSA-2025-102"}) for a in agreements
    )
    plans = plan_reads(restaurant, ALICE, {}, swapped, NOW)
    assert [p.capability for p in plans] == [
        "tax.taxpayer_lookup",
        "local-admin.business_lookup",
        "local-admin.parcel_lookup",
    ]


def test_a_register_asked_with_a_step_output_is_not_planned(tmp_path: Path) -> None:
    doc = yaml.safe_load(RESTAURANT.read_text(encoding="utf-8"))
    prefill = doc["form"]["schema"]["properties"]["tax_id"]["x-prefill"]
    prefill["input"] = {"registration_number": "$.steps.business.output.name"}
    file = tmp_path / "blueprint.yaml"
    file.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    blueprint = load_blueprint_file(file)
    plans = plan_reads(blueprint, ALICE, {}, load_agreements(ROOT), NOW)
    # before the application there is no step output: the register is not asked (and the
    # reference is never sent to it as if it were a registration number)
    assert [p.capability for p in plans] == [
        "local-admin.business_lookup",
        "local-admin.parcel_lookup",
    ]
