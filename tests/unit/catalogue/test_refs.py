"""The one parser of the blueprint reference language: what parses, what it resolves to, and a
clear error for each malformed reference."""

from __future__ import annotations

import pytest

from civicloom.catalogue import (
    Ref,
    RefError,
    Root,
    data_ref,
    expression_refs,
    parse_ref,
    refs_in,
    resolve,
)

CONTEXT = {
    "data": {"seating": 40, "address": {"city": "Riverton"}},
    "steps": {"zoning": {"state": "completed", "output": {"zone": "C2", "allowed": True}}},
    "decisions": {"fees": {"fee": "120.00", "currency": "EUR"}},
}


def test_data_reference() -> None:
    ref = parse_ref("$.data.seating")
    assert ref == Ref(Root.DATA, ("seating",))
    assert ref.field == "seating"
    assert ref.target is None
    assert ref.output is None
    assert ref.path == ("data", "seating")
    assert ref.text == "$.data.seating"
    assert ref.resolve(CONTEXT) == 40


def test_nested_data_reference() -> None:
    ref = parse_ref("$.data.address.city")
    assert ref.field == "address"
    assert ref.resolve(CONTEXT) == "Riverton"


def test_step_output_reference() -> None:
    ref = parse_ref("$.steps.zoning.output.zone")
    assert ref == Ref(Root.STEPS, ("zoning", "output", "zone"))
    assert ref.field is None
    assert ref.target == "zoning"
    assert ref.output == "zone"
    assert ref.resolve(CONTEXT) == "C2"


def test_whole_step_reference() -> None:
    ref = parse_ref("$.steps.zoning")
    assert ref.target == "zoning"
    assert ref.output is None
    assert ref.resolve(CONTEXT) == {"state": "completed", "output": {"zone": "C2", "allowed": True}}


def test_decision_reference() -> None:
    ref = parse_ref("$.decisions.fees.currency")
    assert ref.root is Root.DECISIONS
    assert ref.target == "fees"
    assert ref.output == "currency"
    assert ref.resolve(CONTEXT) == "EUR"


def test_missing_values_resolve_to_none() -> None:
    assert parse_ref("$.data.staff_count").resolve(CONTEXT) is None
    assert parse_ref("$.steps.tax.output.status").resolve(CONTEXT) is None
    assert parse_ref("$.data.seating.deeper").resolve(CONTEXT) is None  # 40 has no keys


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("data.seating", "'data.seating': a reference starts with '$.'"),
        ("$.", "'$.': empty name between dots"),
        ("$.data", "'$.data': $.data names nothing"),
        ("$.data.", "'$.data.': empty name between dots"),
        ("$.data..seating", "'$.data..seating': empty name between dots"),
        (
            "$.data.seat ing",
            "'$.data.seat ing': 'seat ing' is not a name (letters, digits, '_' and '-')",
        ),
        (
            "$.data.seating[0]",
            "'$.data.seating[0]': 'seating[0]' is not a name (letters, digits, '_' and '-')",
        ),
        ("$.answers.seating", "'$.answers.seating': refer to $.data, $.steps or $.decisions"),
        ("$.steps", "'$.steps': $.steps names nothing"),
        ("$.steps.zoning.zone", "'$.steps.zoning.zone': use $.steps.zoning.output.<field>"),
        ("$.decisions", "'$.decisions': $.decisions names nothing"),
    ],
)
def test_malformed_references_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(RefError) as info:
        parse_ref(text)
    assert str(info.value) == message
    assert info.value.text == text


def test_resolve_replaces_references_inside_values_and_keeps_constants() -> None:
    value = {
        "seats": "$.data.seating",
        "zone": "$.steps.zoning.output.zone",
        "activity": "restaurant",
        "lines": [{"fee": "$.decisions.fees.fee"}, 3],
    }
    assert resolve(value, CONTEXT) == {
        "seats": 40,
        "zone": "C2",
        "activity": "restaurant",
        "lines": [{"fee": "120.00"}, 3],
    }


def test_resolve_refuses_a_malformed_reference() -> None:
    with pytest.raises(RefError, match=r"'\$\.data\.\.x': empty name between dots"):
        resolve({"x": "$.data..x"}, CONTEXT)


def test_refs_in_names_the_path_of_each_reference_and_each_error() -> None:
    found = list(refs_in({"a": "$.data.seating", "b": ["plain", "$.nope.x"]}, "steps[2].input"))
    assert [path for path, _ in found] == ["steps[2].input.a", "steps[2].input.b[1]"]
    assert found[0][1] == Ref(Root.DATA, ("seating",))
    assert isinstance(found[1][1], RefError)
    assert str(found[1][1]) == "'$.nope.x': refer to $.data, $.steps or $.decisions"


def test_data_ref_only_accepts_well_formed_data_references() -> None:
    assert data_ref("$.data.seating") == Ref(Root.DATA, ("seating",))
    assert data_ref("$.steps.zoning.output.zone") is None
    assert data_ref("$.data..x") is None
    assert data_ref("restaurant") is None
    assert data_ref(40) is None


def test_expression_references() -> None:
    found = expression_refs(
        "data.seating > 50 and steps.zoning.output.allowed and decisions.fees.fee > 0"
        " and 'data.quoted' != x.data.member"
    )
    assert found == [
        Ref(Root.DATA, ("seating",)),
        Ref(Root.STEPS, ("zoning", "output", "allowed")),
        Ref(Root.DECISIONS, ("fees", "fee")),
    ]
    [error] = expression_refs("steps.zoning.allowed == true")
    assert isinstance(error, RefError)
    assert error.reason == "use $.steps.zoning.output.<field>"
