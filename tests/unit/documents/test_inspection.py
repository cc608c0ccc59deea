"""Content sniffing, file names and blueprint rules (pure logic on in-memory files)."""

from __future__ import annotations

import io

import pytest

from civicloom.documents import inspect_file, rules_from_blueprint, sanitise_filename
from civicloom.documents.domain import DEFAULT_MEDIA_TYPES, DOCX, JPEG, PDF, PNG
from civicloom.kernel import ValidationFailed
from tests.unit.documents import samples

EVERYTHING = frozenset({PDF, PNG, JPEG, DOCX, "application/zip"})


@pytest.mark.parametrize(
    ("content", "media_type"),
    [
        (samples.pdf(), PDF),
        (samples.png(4, 4), PNG),
        (samples.jpeg(), JPEG),
        (samples.docx(), DOCX),
    ],
)
def test_genuine_files_are_recognised(content: bytes, media_type: str) -> None:
    assert inspect_file(io.BytesIO(content), EVERYTHING) == media_type


@pytest.mark.parametrize("name", sorted(samples.ATTACKS))
def test_attacks_are_refused_with_their_rule(name: str) -> None:
    content, filename, rule = samples.ATTACKS[name]

    def check() -> None:
        sanitise_filename(filename)
        inspect_file(io.BytesIO(content), EVERYTHING)

    with pytest.raises(ValidationFailed) as caught:
        check()
    assert caught.value.errors[0].field == "file"
    assert caught.value.errors[0].rule == rule


def test_a_type_the_blueprint_does_not_accept_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        inspect_file(io.BytesIO(samples.docx()), DEFAULT_MEDIA_TYPES)
    assert caught.value.errors[0].rule == "type-not-allowed"
    assert "application/pdf" in caught.value.errors[0].message


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("Floor plan (v2).pdf", "Floor plan (v2).pdf"),
        ("Cafe\u0301 menu.pdf", "Caf\u00e9 menu.pdf"),  # NFC
        ("  .hidden.pdf ", "hidden.pdf"),
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
        ("平面图.pdf", "平面图.pdf"),
        ("a<b>|c.pdf", "a_b__c.pdf"),
    ],
)
def test_names_are_sanitised(given: str, kept: str) -> None:
    assert sanitise_filename(given) == kept


@pytest.mark.parametrize(
    ("given", "rule"),
    [
        # Before: control and bidi characters were silently dropped, so this was stored as
        # "invoicefdp.exe" and shown as the name the applicant never saw. Now: refused.
        ("invoice\u202efdp.exe", "bidi-control"),
        ("menu\x07\u202e.pdf", "control-character"),
        ("menu\u2066.pdf", "bidi-control"),
        ("menu\u200b.pdf", "invisible-character"),
        ("menu\ud800.pdf", "unicode"),
    ],
)
def test_names_with_control_or_hidden_characters_are_refused(given: str, rule: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        sanitise_filename(given)
    assert [(e.field, e.rule) for e in caught.value.errors] == [("file", rule)]


def test_blueprint_rules_tolerate_absence_and_aliases() -> None:
    assert rules_from_blueprint(None, 1000, 30) == {}
    rules = rules_from_blueprint(
        [
            {
                "type": "floor-plan",
                "types": ["pdf", "png"],
                "max_size_mb": 0.5,
                "retention_days": 90,
            },
            {"id": "photo"},
            "garbage",
        ],
        10_000_000,
        365,
    )
    assert rules["floor-plan"].media_types == {PDF, PNG}
    assert rules["floor-plan"].max_bytes == 524_288
    assert rules["floor-plan"].retention_days == 90
    assert rules["photo"].media_types == DEFAULT_MEDIA_TYPES
    assert rules["photo"].max_bytes == 10_000_000
