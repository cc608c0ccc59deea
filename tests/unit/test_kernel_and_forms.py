"""Pure logic: ids, audit chain hashing, form validation messages."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from civicloom.audit import AuditAction, AuditRecord, chain_hash
from civicloom.catalogue import Blueprint, validate_form_data
from civicloom.kernel import ValidationFailed, canonical_json, new_reference

BLUEPRINT = Blueprint.model_validate(
    {
        "id": "tiny",
        "version": 1,
        "title": {"en": "Tiny", "zh-Hans": "小"},
        "owner": "tax",
        "reference_prefix": "TNY",
        "form": {
            "schema": {
                "type": "object",
                "required": ["name", "age"],
                "properties": {
                    "name": {"type": "string", "minLength": 2},
                    "age": {"type": "integer", "minimum": 0},
                    "when": {"type": "string", "format": "date"},
                },
            }
        },
    }
)


def test_reference_is_readable_and_prefixed() -> None:
    ref = new_reference("rst", datetime(2026, 1, 2, tzinfo=UTC))
    assert ref.startswith("RST-2026-")
    assert len(ref) == len("RST-2026-") + 8
    assert not set(ref[9:]) & set("ILOU")


def test_canonical_json_is_order_independent() -> None:
    assert canonical_json({"b": 1, "a": [1, 2]}) == canonical_json({"a": [1, 2], "b": 1})


def test_chain_hash_changes_with_any_field_and_with_the_previous_hash() -> None:
    record = AuditRecord(
        actor="dev-login:alice",
        action=AuditAction.APPLICATION_READ,
        subject_type="application",
        subject_id="a1",
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    base = chain_hash("0" * 64, record)
    assert chain_hash("0" * 64, record) == base
    assert chain_hash("1" * 64, record) != base
    assert chain_hash("0" * 64, replace(record, actor="dev-login:bob")) != base
    assert chain_hash("0" * 64, replace(record, fields=("name",))) != base


def test_valid_data_passes() -> None:
    validate_form_data(BLUEPRINT, {"name": "Ann", "age": 3, "when": "2026-01-01"})


@pytest.mark.parametrize(
    ("data", "field", "rule"),
    [
        ({"age": 3}, "data.name", "required"),
        ({"name": "A", "age": 3}, "data.name", "minLength"),
        ({"name": "Ann", "age": "3"}, "data.age", "type"),
        ({"name": "Ann", "age": 3, "when": "yesterday"}, "data.when", "format"),
    ],
)
def test_errors_name_the_field_and_the_rule(data: dict[str, object], field: str, rule: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_form_data(BLUEPRINT, data)
    assert (field, rule) in [(e.field, e.rule) for e in caught.value.errors]
