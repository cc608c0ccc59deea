"""The one typed blueprint: sections are typed, step kinds are ``StepKind``, and the stored
format (and so every published version's content hash) is what it was before typing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from civicloom.applications import STEP_KINDS
from civicloom.catalogue import Blueprint, StepKind, load_blueprints

ROOT = Path(__file__).resolve().parents[3] / "blueprints"

TINY: dict[str, Any] = {
    "id": "tiny-timer",
    "version": 1,
    "owner": "tax",
    "reference_prefix": "TNY",
    "title": {"en": "Tiny", "zh-Hans": "小"},
    "form": {"schema": {"type": "object"}},
    "steps": [
        {
            "id": "wait",
            "kind": "timer",
            "duration": {"seconds": 60},
            "end": True,
            "retry": {"max_attempts": 3, "initial_seconds": 1, "max_seconds": 2.5},
        }
    ],
    "baseline": {
        "applications": 1,
        "offices": 1,
        "form_fields": 3,
        "repeated_fields": 0,
        "paper_documents": 0,
        "visits": 1,
        "average_days": 4,
    },
}


def test_the_stored_document_is_what_the_author_wrote() -> None:
    blueprint = Blueprint.model_validate(TINY)
    # Numbers keep their type (1 is not 1.0); description and form.ui were always stored.
    assert blueprint.document() == {
        **TINY,
        "description": None,
        "form": {"schema": {"type": "object"}, "ui": {}},
    }
    # The hash the lenient model of ADR 0012 gave this document: stored versions still match.
    assert blueprint.content_hash() == (
        "776ffe826ff2e5d37ee1812a2751bf79ea55314b3668c890c5fee84d6075d644"
    )
    assert Blueprint.model_validate(blueprint.document()).content_hash() == (
        blueprint.content_hash()
    )


def test_unchanged_demo_versions_keep_their_published_hash() -> None:
    loaded = {b.id: b for b in load_blueprints(ROOT)}
    # change-of-business-address v3 (data ownership declared, ADR 0050) is unchanged since it
    # was first published
    assert loaded["change-of-business-address"].version == 3
    assert loaded["change-of-business-address"].content_hash() == (
        "aba108b787bb0d368de585a8a287f9f012f7f658f3b71d31283350e224e2bba1"
    )


def test_sections_are_typed() -> None:
    restaurant = next(b for b in load_blueprints(ROOT) if b.id == "open-a-restaurant")
    assert restaurant.fees is not None
    assert restaurant.fees.model == "local-admin/licence-fee"
    assert restaurant.legal_deadline_working_days == 20
    certificate = restaurant.outputs.certificate
    assert certificate is not None
    assert certificate.holder is not None
    assert certificate.holder.name == "$.data.business_name"
    assert certificate.holder.address == "$.data.premises_address"
    issued = restaurant.notification_for("issued")
    assert issued is not None
    assert issued.template == "open-a-restaurant/issued"
    assert issued.channels == ["email", "portal"]
    assert [d.type for d in restaurant.documents] == ["floor_plan", "lease"]
    precheck = restaurant.form.precheck
    assert precheck is not None
    assert precheck.lookups == ["zoning"]
    assert restaurant.steps[0].kind is StepKind.AUTOMATED
    assert restaurant.steps[-1].kind is StepKind.ISSUE_DOCUMENT


def test_unknown_keys_are_refused_with_their_path() -> None:
    with pytest.raises(ValidationError) as caught:
        Blueprint.model_validate(
            {**TINY, "outputs": {"certificate": {"template": "x/y", "colour": "red"}}}
        )
    assert [e["loc"] for e in caught.value.errors()] == [("outputs", "certificate", "colour")]


def test_a_kind_outside_step_kind_parses_as_its_name() -> None:
    step = {"id": "stamp", "kind": "stamp", "end": True}
    blueprint = Blueprint.model_validate({**TINY, "steps": [step]})
    assert blueprint.steps[0].kind == "stamp"
    assert not isinstance(blueprint.steps[0].kind, StepKind)
    with pytest.raises(ValidationError):
        Blueprint.model_validate({**TINY, "steps": [{**step, "kind": "Not A Name"}]})


def test_every_built_in_kind_has_exactly_one_handler() -> None:
    assert set(STEP_KINDS) == {k.value for k in StepKind}
    for kind in StepKind:
        assert STEP_KINDS[kind].kind is kind
    assert {k for k in StepKind if STEP_KINDS[k].automated} == {
        StepKind.AUTOMATED,
        StepKind.TIMER,
        StepKind.ISSUE_DOCUMENT,
    }


def test_document_titles_keep_their_chinese_key() -> None:
    restaurant = next(b for b in load_blueprints(ROOT) if b.id == "open-a-restaurant")
    (floor_plan, lease) = restaurant.document_sections()
    assert set(floor_plan["title"]) == {"en", "zh-Hans"}
    assert set(lease["title"]) == {"en", "zh-Hans"}


def test_a_stored_pre_check_with_an_unknown_key_still_reads() -> None:
    restaurant = next(b for b in load_blueprints(ROOT) if b.id == "open-a-restaurant")
    ui = {**restaurant.form.ui, "precheck": {"questions": ["seating"], "intro": "Check first"}}
    older = restaurant.form.model_copy(update={"ui": ui})
    precheck = older.precheck
    assert precheck is not None
    assert precheck.questions == ["seating"]
